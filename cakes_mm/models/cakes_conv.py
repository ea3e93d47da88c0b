"""The CAKES convolution: a channel-wise mix of sub-kernels.

:class:`CAKESConv3d` is a drop-in replacement for a 3x3x3 ``nn.Conv3d``. Its
output channels are split into groups, one per sub-kernel, in the order of
``choice``; each group is a ``Conv3d`` with that sub-kernel's size and the
padding that keeps the input size. It knows nothing of ResNet and can be used
in any 3D network (a 3D UNet, say).
"""
from typing import Dict, Sequence, Tuple, Union

import torch
import torch.nn as nn

from .arch import uniform_split
from .inflation import inflate_kernel, split_filters
from .sub_kernels import check_op_set, kernel_size, same_padding

IntOr3 = Union[int, Tuple[int, int, int]]


def spatial_stride(stride: IntOr3) -> Tuple[int, int, int]:
    """Expand an int stride to (1, s, s): CAKES never strides in time.

    Args:
        stride (int | tuple[int, int, int]): A stride.

    Returns:
        tuple[int, int, int]: The 3D stride.
    """
    return (1, stride, stride) if isinstance(stride, int) else tuple(stride)


class CAKESConv3d(nn.Module):
    """A 3D convolution whose output channels use different sub-kernels.

    Args:
        in_channels (int): Input channels.
        choice (dict[str, int]): Output channels per sub-kernel name, in
            group order, e.g. ``{'1xkxk': 40, 'kx1x1': 24}``. Ops with zero
            channels are allowed and build nothing.
        stride (int | tuple[int, int, int]): Stride; an int s means
            (1, s, s). Defaults to 1.
        kernel (int): The full kernel size k (odd). Defaults to 3.
        bias (bool): Whether each group has a bias. Defaults to False.
    """

    def __init__(self,
                 in_channels: int,
                 choice: Dict[str, int],
                 stride: IntOr3 = 1,
                 kernel: int = 3,
                 bias: bool = False) -> None:
        super().__init__()
        check_op_set(list(choice))
        if kernel % 2 != 1:
            raise ValueError(f'kernel must be odd, got {kernel}')
        self.in_channels = in_channels
        self.out_channels = sum(choice.values())
        self.choice = dict(choice)
        self.stride = spatial_stride(stride)
        self.kernel = kernel
        self.convs = nn.ModuleDict({
            name: nn.Conv3d(
                in_channels,
                count,
                kernel_size(name, kernel),
                stride=self.stride,
                padding=same_padding(name, kernel),
                bias=bias)
            for name, count in self.choice.items() if count > 0
        })

    @classmethod
    def uniform(cls, in_channels: int, out_channels: int,
                op_set: Sequence[str], **kwargs) -> 'CAKESConv3d':
        """Build with the width split evenly over ``op_set``.

        Args:
            in_channels (int): Input channels.
            out_channels (int): Output channels.
            op_set (Sequence[str]): Sub-kernel names; the remainder of the
                split goes to the first.
            **kwargs: Passed to the constructor (stride, kernel, bias).

        Returns:
            CAKESConv3d: The conv.
        """
        return cls(in_channels, uniform_split(out_channels, op_set), **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run every group and concatenate them in group order."""
        outs = [conv(x) for conv in self.convs.values()]
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)

    def inflate_from_2d(self, weight2d: torch.Tensor,
                        mode: str = 'sum') -> None:
        """Initialise from a 2D kernel, splitting its filters over groups.

        Args:
            weight2d (torch.Tensor): A (C_out, C_in, k, k) 2D kernel.
            mode (str): ``'sum'`` or ``'mean'`` for the dropped axes of 1D
                and volumetric sub-kernels. Defaults to ``'sum'``.
        """
        filters = split_filters(weight2d, self.choice.values())
        with torch.no_grad():
            for (name, _), part in zip(self.choice.items(), filters):
                if name in self.convs:
                    self.convs[name].weight.copy_(
                        inflate_kernel(part, name, mode))

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.choice}, stride={self.stride}, '
                f'kernel={self.kernel}')
