"""A 2D conv that adds a residual and applies ReLU in the same oneDNN call,
with its weight kept in oneDNN's own layout, for inference on the CPU.

An inference network in the usual form writes each conv's output, then
reads and writes it again for a residual add and again for a ReLU, and each
conv call first reorders its weight into the blocked layout oneDNN computes
with. oneDNN can apply the add and the ReLU to the conv's results before
they are stored (its "post-ops"), and can take a weight reordered once in
advance; PyTorch's CPU build exposes both
(``torch.ops.mkldnn._convolution_pointwise`` and
``torch.ops.mkldnn._reorder_convolution_weight``, the ops its own compiler
emits for this pattern). :class:`FusedConv2d` uses them where they apply: a
CPU float32 input in ``channels_last`` with no gradient recorded, outside a
trace or a compile (an ONNX export keeps its ``Conv``, ``Add`` and ``Relu``
nodes), and under a CPU bfloat16 autocast too, where the conv then runs in
bfloat16 as autocast would run it (the residual, bfloat16 as well, is added
before the one rounding of the output instead of after the conv's).
Everywhere else it runs the same steps one by one, with the same sums
(``tests/models/layers/test_fused_conv.py`` checks both paths against each
other). :func:`conv2d_post_ops` is the same for any 2D conv, and
PmSCn's :class:`~cakes_mm.models.layers.flat_conv.FlatConv3d` uses it for
the 2D views it runs its flat kernels on.

The reordered weight suits one input shape; it is kept for the last shape
seen and made again when the shape, the weight's memory or its version
(any in-place change, a loaded state dict) changes.
"""

import functools
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


@functools.lru_cache(maxsize=None)
def onednn_post_ops_available() -> bool:
    """Whether this PyTorch build has oneDNN's fused conv ops.

    Returns:
        bool: True when oneDNN is usable and
        ``torch.ops.mkldnn._convolution_pointwise`` and
        ``_reorder_convolution_weight`` exist.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        torch.ops.mkldnn._convolution_pointwise.binary
        torch.ops.mkldnn._reorder_convolution_weight.default
    except (AttributeError, RuntimeError):
        return False
    return True


def post_ops_dtype(x: torch.Tensor) -> Optional[torch.dtype]:
    """The dtype in which :class:`FusedConv2d` may run the conv of ``x``
    through oneDNN's fused op (see the module docstring), or None.

    Args:
        x (torch.Tensor): The conv's input.

    Returns:
        torch.dtype | None: float32 for a 4D CPU float32 ``channels_last``
        tensor when no gradient is recorded and nothing is traced or
        compiled; bfloat16 for a float32 or bfloat16 one under a CPU
        bfloat16 autocast (the dtype autocast runs a conv in); None
        otherwise (another autocast dtype among them).
    """
    if not (
        x.device.type == 'cpu'
        and x.dim() == 4
        and not torch.is_grad_enabled()
        and not torch.jit.is_tracing()
        and not torch.compiler.is_compiling()
        and x.is_contiguous(memory_format=torch.channels_last)
        and onednn_post_ops_available()
    ):
        return None
    if not torch.is_autocast_enabled('cpu'):
        return torch.float32 if x.dtype == torch.float32 else None
    autocast = torch.get_autocast_dtype('cpu')
    if autocast == torch.bfloat16 and x.dtype in (torch.float32, autocast):
        return autocast
    return None


class ReorderedWeight:
    """A conv weight reordered into oneDNN's layout, kept for the last input
    shape, conv arguments and weight state (its memory and version, which
    any in-place change or loaded state dict moves), and made again when
    one changes; and the conv's bias in the dtype the conv runs in, kept
    alike. A copy or a pickle holds none (it is made again on the next
    call)."""

    def __init__(self) -> None:
        self._key: Optional[tuple] = None
        self._weight: Optional[torch.Tensor] = None
        self._bias_key: Optional[tuple] = None
        self._bias: Optional[torch.Tensor] = None

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def get(
        self, weight: torch.Tensor, x: torch.Tensor, *args
    ) -> torch.Tensor:
        """The reordered ``weight`` for input ``x``.

        Args:
            weight (torch.Tensor): The conv weight (C_out, C_in / groups,
                kH, kW).
            x (torch.Tensor): The input it will meet, in the dtype the conv
                runs in (the weight is cast to it).
            *args: The conv's padding, stride, dilation and groups.

        Returns:
            torch.Tensor: The weight in oneDNN's layout.
        """
        key = (
            tuple(x.shape),
            x.dtype,
            args,
            weight.data_ptr(),
            weight.stride(),
            weight._version,
        )
        if key != self._key:
            padding, stride, dilation, groups = args
            self._weight = torch.ops.mkldnn._reorder_convolution_weight(
                weight.detach().to(x.dtype),
                list(padding),
                list(stride),
                list(dilation),
                groups,
                list(x.shape),
            )
            self._key = key
        return self._weight

    def bias(
        self, bias: Optional[torch.Tensor], dtype: torch.dtype
    ) -> Optional[torch.Tensor]:
        """``bias`` in ``dtype`` (a bfloat16 conv under autocast takes a
        bfloat16 bias), cast once and kept while the bias's memory and
        version stay.

        Args:
            bias (torch.Tensor, optional): The conv's bias, or None.
            dtype (torch.dtype): The dtype the conv runs in.

        Returns:
            torch.Tensor | None: The bias in ``dtype``, or None.
        """
        if bias is None or bias.dtype == dtype:
            return bias
        key = (dtype, bias.data_ptr(), bias._version)
        if key != self._bias_key:
            self._bias = bias.detach().to(dtype)
            self._bias_key = key
        return self._bias


def conv2d_post_ops(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    padding: Sequence[int],
    stride: Sequence[int] = (1, 1),
    dilation: Sequence[int] = (1, 1),
    groups: int = 1,
    residual: Optional[torch.Tensor] = None,
    relu: bool = False,
    reordered: Optional[ReorderedWeight] = None,
) -> torch.Tensor:
    """``relu(conv2d(x) + residual)``: a zero-padded 2D conv, then the add if
    ``residual`` is given, then ReLU if ``relu``; one oneDNN call where
    :func:`post_ops_dtype` allows (and a residual has the layout and the
    dtype of the output), else the steps one by one.

    Args:
        x (torch.Tensor): (N, C_in, H, W).
        weight (torch.Tensor): (C_out, C_in / groups, kH, kW).
        bias (torch.Tensor, optional): (C_out,) or None.
        padding (Sequence[int]): Zero padding along (H, W).
        stride (Sequence[int]): Stride along (H, W). Defaults to (1, 1).
        dilation (Sequence[int]): Dilation along (H, W). Defaults to (1, 1).
        groups (int): Conv groups. Defaults to 1.
        residual (torch.Tensor, optional): A tensor of the output's shape to
            add. Defaults to None.
        relu (bool): Whether to apply ReLU last. Defaults to False.
        reordered (ReorderedWeight, optional): Where to keep ``weight`` in
            oneDNN's layout between calls; None reorders it for this call
            only. Defaults to None.

    Returns:
        torch.Tensor: (N, C_out, H', W').
    """
    args = (tuple(padding), tuple(stride), tuple(dilation), groups)
    dtype = post_ops_dtype(x)
    if dtype is not None and (
        residual is None
        or (
            residual.is_contiguous(memory_format=torch.channels_last)
            and residual.dtype == dtype
        )
    ):
        x = x.to(dtype)
        if reordered is not None:
            weight = reordered.get(weight, x, *args)
            bias = reordered.bias(bias, dtype)
        else:
            weight = weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
        if residual is None:
            return torch.ops.mkldnn._convolution_pointwise(
                x, weight, bias, *args, 'relu' if relu else 'none', [], ''
            )
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x,
            residual,
            weight,
            bias,
            *args,
            'add',
            None,
            'relu' if relu else None,
            [],
            '',
        )
    padding, stride, dilation, groups = args
    y = F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    if residual is not None:
        y += residual
    return y.relu_() if relu else y


class FusedConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` (same parameters, same state dict) whose forward
    can also add a residual and apply ReLU: ``relu(conv(x) + residual)``,
    through :func:`conv2d_post_ops` with its weight kept reordered. The
    padding must be given as numbers (not ``'same'``), with
    ``padding_mode='zeros'``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.padding_mode != 'zeros' or isinstance(self.padding, str):
            raise ValueError(
                'FusedConv2d takes zero padding given as numbers, got '
                f'padding={self.padding!r}, '
                f'padding_mode={self.padding_mode!r}'
            )
        self.reordered = ReorderedWeight()

    def forward(
        self,
        x: torch.Tensor,
        residual: Optional[torch.Tensor] = None,
        relu: bool = False,
    ) -> torch.Tensor:
        """The conv, plus ``residual`` if given, then ReLU if ``relu``.

        Args:
            x (torch.Tensor): (N, C_in, H, W).
            residual (torch.Tensor, optional): A tensor of the output's
                shape to add. Defaults to None.
            relu (bool): Whether to apply ReLU last. Defaults to False.

        Returns:
            torch.Tensor: (N, C_out, H', W').
        """
        return conv2d_post_ops(
            x,
            self.weight,
            self.bias,
            self.padding,
            self.stride,
            self.dilation,
            self.groups,
            residual,
            relu,
            self.reordered,
        )
