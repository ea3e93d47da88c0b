"""A training-mode batch norm and the ReLU after it, in one operator, on
``channels_last_3d`` CPU float32 tensors.

PyTorch runs the pair as two operators, which read or write a whole tensor
five times forward (statistics; normalise; ReLU) and eight times backward
(ReLU's mask; the norm's two sums; its input gradient, each reading what the
one before wrote). The C kernels of ``kernels/batch_norm_relu.c`` do so
three times forward and five backward: the mask is recomputed from the
norm's input instead of being read from the ReLU's output. PmSCn's streams,
where a norm and a ReLU follow every 2D conv, use it in training.

The statistics are sums of ``x - K`` and ``(x - K)²``, K being each
channel's value in the first voxel, so that the variance does not lose its
digits to a large mean; blocks of 64 rows are summed in float, the blocks'
sums in double, and the coefficients are worked out in double. A narrow
layer's channels are viewed k voxels to a row
(:func:`.channels_last_norm.vector_fold`) so that each row's width is a
multiple of the CPU's vector width.

Where the kernels cannot be had (:func:`.native_kernels.load`), and for any
other input, layout, norm or activation, the norm and the activation run
as they are.
"""

import ctypes

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable

from .channels_last_norm import (
    aligned_batch_norm,
    is_channels_last_cpu_float,
    update_running_stats,
    uses_batch_statistics,
    vector_fold,
)
from .native_kernels import FLOAT_POINTER, bind
from .native_kernels import float_pointer as _pointer

CL = torch.channels_last_3d
_F32 = FLOAT_POINTER
_I64, _INT, _DOUBLE = ctypes.c_int64, ctypes.c_int, ctypes.c_double
_SIGNATURES = {
    'batch_norm_relu_forward': [_F32, _F32, _I64, _I64, _I64, _INT]
    + [_F32, _F32, _DOUBLE]
    + [_F32] * 5,
    'batch_norm_relu_backward': [_F32, _F32, _F32, _I64, _I64, _I64, _INT]
    + [_F32] * 7,
}


def kernels():
    """The loaded kernels with their signatures set, or None.

    Returns:
        ctypes.CDLL | None: The library.
    """
    return bind('batch_norm_relu', _SIGNATURES)


def _rows(x: torch.Tensor, fold: int) -> torch.Tensor:
    """The (voxels / k, k·C) view of a dense channels-last tensor."""
    return x.permute(0, 2, 3, 4, 1).reshape(-1, fold * x.shape[1])


def _check(status: int) -> None:
    if status:
        raise MemoryError('batch_norm_relu: out of memory for its sums')


class _BatchNormReLU(torch.autograd.Function):
    """``relu(batch_norm(x))`` with the batch's statistics (module doc)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps, library):
        channels = x.shape[1]
        fold = vector_fold(channels, x.numel() // channels)
        rows = _rows(x, fold)
        out = torch.empty_like(x, memory_format=CL)
        mean, var, invstd = x.new_empty(3, channels)
        scale, offset = x.new_empty(2, rows.shape[1])
        _check(
            library.batch_norm_relu_forward(
                _pointer(rows), _pointer(_rows(out, fold)), *rows.shape,
                channels, torch.get_num_threads(), _pointer(weight),
                _pointer(bias), eps, _pointer(mean), _pointer(var),
                _pointer(invstd), _pointer(scale), _pointer(offset),
            )
        )  # fmt: skip
        ctx.save_for_backward(x, weight, mean, invstd, scale, offset)
        ctx.fold, ctx.has_bias, ctx.library = fold, bias is not None, library
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, _grad_mean, _grad_var):
        x, weight, mean, invstd, scale, offset = ctx.saved_tensors
        grad = grad.contiguous(memory_format=CL)
        rows = _rows(x, ctx.fold)
        grad_x = torch.empty_like(x, memory_format=CL)
        grad_weight = None if weight is None else torch.empty_like(mean)
        grad_bias = torch.empty_like(mean) if ctx.has_bias else None
        _check(
            ctx.library.batch_norm_relu_backward(
                _pointer(rows), _pointer(_rows(grad, ctx.fold)),
                _pointer(_rows(grad_x, ctx.fold)), *rows.shape, x.shape[1],
                torch.get_num_threads(), _pointer(weight), _pointer(mean),
                _pointer(invstd), _pointer(scale), _pointer(offset),
                _pointer(grad_weight), _pointer(grad_bias),
            )
        )  # fmt: skip
        return grad_x, grad_weight, grad_bias, None, None


def batch_norm_relu(
    x: torch.Tensor, norm: nn.Module, act: nn.Module
) -> torch.Tensor:
    """``act(norm(x))``, in one fused operator where ``norm`` is an
    ``nn.BatchNorm3d`` using the batch's statistics, ``act`` a ReLU, ``x`` a
    CPU float32 ``channels_last_3d`` tensor outside a trace or compile, and
    the kernels load; otherwise ``norm`` (through
    :func:`.channels_last_norm.aligned_batch_norm`) then ``act``.

    Running statistics are updated as ``norm`` would update them.

    Args:
        x (torch.Tensor): (N, C, D, H, W).
        norm (nn.Module): The norm.
        act (nn.Module): The activation after it.

    Returns:
        torch.Tensor: The activation's output.
    """
    library = None
    if (
        type(act) is nn.ReLU
        and uses_batch_statistics(norm)
        and x.shape[1] == norm.num_features
        and all(
            p is None or (p.dtype == torch.float32 and p.is_contiguous())
            for p in (norm.weight, norm.bias)
        )
        and is_channels_last_cpu_float(x)
    ):
        library = kernels()
    if library is None:
        return act(aligned_batch_norm(x, norm))
    out, mean, var = _BatchNormReLU.apply(
        x, norm.weight, norm.bias, norm.eps, library
    )
    if norm.training and norm.track_running_stats:
        update_running_stats(norm, mean, var, x.numel() // x.shape[1])
    return out
