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
nodes). Everywhere else it runs the same steps one by one, with the same
sums (``tests/models/layers/test_fused_conv.py`` checks both paths against
each other).

The reordered weight suits one input shape; it is kept for the last shape
seen and made again when the shape, the weight's memory or its version
(any in-place change, a loaded state dict) changes.
"""

import functools
from typing import Optional, Tuple

import torch
import torch.nn as nn


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


def takes_post_ops(x: torch.Tensor) -> bool:
    """Whether :class:`FusedConv2d` may run ``x`` through oneDNN's fused
    op (see the module docstring).

    Args:
        x (torch.Tensor): The conv's input.

    Returns:
        bool: True for a 4D CPU float32 ``channels_last`` tensor when no
        gradient is recorded and nothing is traced or compiled.
    """
    return (
        x.device.type == 'cpu'
        and x.dtype == torch.float32
        and x.dim() == 4
        and not torch.is_grad_enabled()
        and not torch.jit.is_tracing()
        and not torch.compiler.is_compiling()
        and x.is_contiguous(memory_format=torch.channels_last)
        and onednn_post_ops_available()
    )


class FusedConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` (same parameters, same state dict) whose forward
    can also add a residual and apply ReLU: ``relu(conv(x) + residual)``.

    On the fused path (see the module docstring) the three steps are one
    oneDNN call with a weight reordered in advance; elsewhere they run one
    by one. The padding must be given as numbers (not ``'same'``), with
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
        self._onednn_weight: Optional[Tuple[tuple, torch.Tensor]] = None

    def __getstate__(self) -> dict:
        """The module's state without the reordered weight, which neither
        pickles nor copies (it is made again on the next call)."""
        state = super().__getstate__()
        state['_onednn_weight'] = None
        return state

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
        if takes_post_ops(x) and (
            residual is None
            or residual.is_contiguous(memory_format=torch.channels_last)
        ):
            return self._fused(x, residual, relu)
        y = super().forward(x)
        if residual is not None:
            y += residual
        return y.relu_() if relu else y

    def _fused(
        self, x: torch.Tensor, residual: Optional[torch.Tensor], relu: bool
    ) -> torch.Tensor:
        """:meth:`forward` as one oneDNN call."""
        weight = self._reordered_weight(x)
        args = (self.padding, self.stride, self.dilation, self.groups)
        if residual is None:
            return torch.ops.mkldnn._convolution_pointwise(
                x,
                weight,
                self.bias,
                *args,
                'relu' if relu else 'none',
                [],
                '',
            )
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x,
            residual,
            weight,
            self.bias,
            *args,
            'add',
            None,
            'relu' if relu else None,
            [],
            '',
        )

    def _reordered_weight(self, x: torch.Tensor) -> torch.Tensor:
        """The weight in oneDNN's layout for ``x``'s shape, made once per
        shape and weight state (see the module docstring)."""
        key = (
            tuple(x.shape),
            self.weight.data_ptr(),
            self.weight._version,
        )
        if self._onednn_weight is None or self._onednn_weight[0] != key:
            weight = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight.detach(),
                list(self.padding),
                list(self.stride),
                list(self.dilation),
                self.groups,
                list(x.shape),
            )
            self._onednn_weight = (key, weight)
        return self._onednn_weight[1]
