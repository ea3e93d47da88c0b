"""The sub-kernel vocabulary of CAKES.

A sub-kernel name spells its size along (T, H, W), joined by ``x``: ``k``
stands for the full kernel size along that axis and ``1`` for a shrunk axis.
The names are those of the paper's public code, and they are the keys of the
arch format (see :mod:`cakes_mm.models.arch`).

============  ===========  ===================
name          size (k=3)   role
============  ===========  ===================
``kxkxk``     3x3x3        3D
``1xkxk``     1x3x3        2D spatial
``kx1x1``     3x1x1        1D temporal
``kxkx1``     3x3x1        volumetric 2D
``kx1xk``     3x1x3        volumetric 2D
``1xkx1``     1x3x1        volumetric 1D
``1x1xk``     1x1x3        volumetric 1D
============  ===========  ===================
"""

from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch.nn.modules.utils import _triple

from ...deprecation import UNSET, renamed_argument
from .flat_conv import FlatConv3d

IntOr3 = Union[int, Sequence[int]]

SUB_KERNEL_NAMES: Tuple[str, ...] = (
    'kxkxk',
    '1xkxk',
    'kx1x1',
    'kxkx1',
    'kx1xk',
    '1xkx1',
    '1x1xk',
)

# The paper's cost weights are beta = kernel volume / 39: 3D, 2D and 1D get
# 27/39 = 9/13, 9/39 = 3/13 and 3/39 = 1/13.
BETA_DENOMINATOR = 39


def check_sub_kernel(name: str) -> str:
    """Return ``name`` if it is a known sub-kernel, else raise.

    Args:
        name (str): A sub-kernel name such as ``'1xkxk'``.

    Returns:
        str: The same name.

    Raises:
        ValueError: If the name is not one of :data:`SUB_KERNEL_NAMES`.
    """
    if name not in SUB_KERNEL_NAMES:
        raise ValueError(
            f'unknown sub-kernel name {name!r}; expected one of '
            f'{", ".join(SUB_KERNEL_NAMES)}'
        )
    return name


def check_op_set(op_set: Iterable[str], min_ops: int = 1) -> List[str]:
    """Validate an op set: known names, no repeats, at least ``min_ops``.

    Args:
        op_set (Iterable[str]): Sub-kernel names.
        min_ops (int): The fewest ops allowed. Defaults to 1.

    Returns:
        list[str]: The op set as a list, in the given order.
    """
    if isinstance(op_set, str):
        raise ValueError(
            f'op_set must be a list of sub-kernel names, got the string '
            f'{op_set!r}'
        )
    ops = [check_sub_kernel(name) for name in op_set]
    if len(set(ops)) != len(ops):
        raise ValueError(f'op_set {ops} names an op more than once')
    if len(ops) < min_ops:
        raise ValueError(
            f'op_set {ops} has {len(ops)} op(s); at least {min_ops} needed'
        )
    return ops


def kernel_size(name: str, k: int = 3) -> Tuple[int, int, int]:
    """The (T, H, W) kernel size of a sub-kernel.

    Args:
        name (str): A sub-kernel name.
        k (int): The full kernel size. Defaults to 3.

    Returns:
        tuple[int, int, int]: The kernel size along T, H and W.
    """
    check_sub_kernel(name)
    return tuple(k if axis == 'k' else 1 for axis in name.split('x'))


def same_padding(
    name: str, k: int = 3, dilation: IntOr3 = 1
) -> Tuple[int, int, int]:
    """Zero padding that keeps the size of a stride-1 input.

    Args:
        name (str): A sub-kernel name.
        k (int): The full kernel size (odd). Defaults to 3.
        dilation (int | Sequence[int]): Dilation along (T, H, W); an int
            applies to every axis. Defaults to 1.

    Returns:
        tuple[int, int, int]: Padding along T, H and W.
    """
    return tuple(
        d * (size // 2)
        for size, d in zip(kernel_size(name, k), _triple(dilation))
    )


def spanned_axes(name: str) -> Tuple[bool, bool, bool]:
    """Which of the three axes a sub-kernel spans.

    Args:
        name (str): A sub-kernel name.

    Returns:
        tuple[bool, bool, bool]: For (T, H, W), or (D, H, W) on volumes.
    """
    return tuple(size > 1 for size in kernel_size(name))


def make_sub_kernel_conv(
    name: str,
    in_channels: int,
    out_channels: int,
    k: int = 3,
    stride: IntOr3 = 1,
    dilation: IntOr3 = 1,
    bias: bool = False,
    padding_mode: str = 'zeros',
    device: Optional[torch.device] = None,
    dtype: Optional[torch.dtype] = None,
    flat: bool = False,
) -> nn.Conv3d:
    """A ``Conv3d`` of one sub-kernel, padded to keep the size.

    Args:
        name (str): The sub-kernel name.
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        k (int): The full kernel size (odd). Defaults to 3.
        stride (int | Sequence[int]): Stride along (T, H, W); an int applies
            to every axis, as in ``nn.Conv3d``. Defaults to 1.
        dilation (int | Sequence[int]): Dilation, likewise. Defaults to 1.
        bias (bool): Whether the conv has a bias. Defaults to False.
        padding_mode (str): As in ``nn.Conv3d``. Defaults to ``'zeros'``.
        device (torch.device, optional): Where to build it. Defaults to
            None (torch's default).
        dtype (torch.dtype, optional): Its dtype. Defaults to None.
        flat (bool): Build a :class:`FlatConv3d`, which infers a flat
            kernel as a 2D conv (the same parameters; rounding may differ
            from the 3D conv's in the last bits). Defaults to False.

    Returns:
        nn.Conv3d: The conv.
    """
    size = kernel_size(name, k)
    dilation = tuple(
        d if s > 1 else 1 for s, d in zip(size, _triple(dilation))
    )
    return (FlatConv3d if flat else nn.Conv3d)(
        in_channels,
        out_channels,
        size,
        stride=_triple(stride),
        padding=same_padding(name, k, dilation),
        dilation=dilation,
        bias=bias,
        padding_mode=padding_mode,
        device=device,
        dtype=dtype,
    )


class SubKernelConv3d(nn.Module):
    """Base of the convs that hold one ``Conv3d`` per sub-kernel, by name,
    in ``convs``: :class:`~cakes_mm.models.layers.CAKESConv3d` and
    :class:`~cakes_mm.models.search.CAKESSearchConv3d`.

    It keeps the options every sub-kernel conv shares and builds the convs
    with them (:meth:`make_convs`).

    Args:
        in_channels (int): Input channels.
        kernel_size (int): The full kernel size k.
        stride (int | Sequence[int]): Stride along (T, H, W), as in
            ``nn.Conv3d``.
        dilation (int | Sequence[int]): Dilation, as in ``nn.Conv3d``.
        padding_mode (str): As in ``nn.Conv3d``.
        kernel (int, optional): The subclass's deprecated name of
            ``kernel_size``; given, it wins, with a warning that names the
            subclass. Defaults to ``UNSET`` (not given).
    """

    def __init__(
        self,
        in_channels: int,
        kernel_size: int,
        stride: IntOr3,
        dilation: IntOr3,
        padding_mode: str,
        kernel: int = UNSET,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.kernel_size = renamed_argument(
            type(self).__name__,
            'kernel',
            kernel,
            'kernel_size',
            kernel_size,
            stacklevel=5,  # the code that built the subclass
        )
        self.stride = _triple(stride)
        self.dilation = _triple(dilation)
        self.padding_mode = padding_mode

    def make_convs(
        self,
        counts: Dict[str, int],
        bias: bool,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> nn.ModuleDict:
        """One :func:`make_sub_kernel_conv` per sub-kernel, with this
        layer's options.

        Args:
            counts (dict[str, int]): Output channels per sub-kernel name, in
                the order of the convs.
            bias (bool): Whether the convs have biases.
            device (torch.device, optional): Where to build them. Defaults
                to None.
            dtype (torch.dtype, optional): Their dtype. Defaults to None.

        Returns:
            nn.ModuleDict: The convs, by sub-kernel name.
        """
        return nn.ModuleDict(
            {
                name: make_sub_kernel_conv(
                    name,
                    self.in_channels,
                    count,
                    self.kernel_size,
                    self.stride,
                    self.dilation,
                    bias,
                    self.padding_mode,
                    device,
                    dtype,
                )
                for name, count in counts.items()
            }
        )

    @property
    def kernel(self) -> int:
        """The old name of :attr:`kernel_size`."""
        return self.kernel_size


def kernel_volume(name: str, k: int = 3) -> int:
    """The number of taps of a sub-kernel.

    Args:
        name (str): A sub-kernel name.
        k (int): The full kernel size. Defaults to 3.

    Returns:
        int: The product of the kernel size.
    """
    t, h, w = kernel_size(name, k)
    return t * h * w


def uniform_split(width: int, op_set: Sequence[str]) -> Dict[str, int]:
    """Split a width evenly over an op set, the remainder to the first op.

    Args:
        width (int): Output channels of the layer.
        op_set (Sequence[str]): Sub-kernel names, in group order.

    Returns:
        dict[str, int]: Channels per op; 64 over three ops gives 22/21/21.
    """
    share, remainder = divmod(width, len(op_set))
    return {
        name: share + (remainder if i == 0 else 0)
        for i, name in enumerate(op_set)
    }


def default_cost_weights(op_set: Iterable[str]) -> Dict[str, float]:
    """The paper's cost-aware weights beta for the cost-priority lasso.

    Args:
        op_set (Iterable[str]): Sub-kernel names.

    Returns:
        dict[str, float]: beta per op, kernel volume (k=3) over 39.
    """
    return {name: kernel_volume(name) / BETA_DENOMINATOR for name in op_set}
