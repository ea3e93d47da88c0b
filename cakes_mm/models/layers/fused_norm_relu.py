"""A training-mode batch norm and the ReLU after it, in one operator, on
``channels_last_3d`` CPU float32 tensors.

PyTorch runs the pair as two operators and five passes over memory forward
(statistics, normalise, ReLU) and eight backward (ReLU's mask, then the
norm's two sums and its input gradient, each reading what the one before
wrote). The C kernels of ``kernels/batch_norm_relu.c`` take three passes
forward and four backward: the mask is recomputed from the norm's input
instead of being read from the ReLU's output. PmSCn's streams, where a norm
and a ReLU follow every 2D conv, use it in training.

The statistics are sums of ``x - K`` and ``(x - K)²`` in double precision,
K being the first voxel's value of each channel, so that the variance does
not lose its digits to a large mean. A narrow layer's channels are viewed
k voxels to a row (as :mod:`.channels_last_norm` does) so that each row's
width is a multiple of the CPU's vector width.

Where the kernels cannot be had (:func:`.native_kernels.load`), and for any
other input, layout, norm or activation, the norm and the activation run
as they are.
"""

import ctypes

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable

from .channels_last_norm import (
    VECTOR_WIDTH,
    aligned_batch_norm,
    is_channels_last_cpu_float,
    update_running_stats,
    uses_batch_statistics,
)
from .native_kernels import load

CL = torch.channels_last_3d
_F32 = ctypes.POINTER(ctypes.c_float)
_F64 = ctypes.POINTER(ctypes.c_double)
_I64 = ctypes.c_int64
_INT = ctypes.c_int
_SIGNATURES = {
    'shifted_sums': (_INT, [_F32, _I64, _I64, _INT, _F32, _F64, _F64]),
    'affine_relu': (None, [_F32, _F32, _I64, _I64, _INT, _F32, _F32]),
    'masked_grad_sums': (
        _INT,
        [_F32, _F32, _I64, _I64, _INT, _F32, _F32, _F32, _F64, _F64],
    ),
    'masked_grad_input': (
        None,
        [_F32, _F32, _F32, _I64, _I64, _INT, _F32, _F32, _F32, _F32, _F32],
    ),
}


def kernels():
    """The loaded kernels with their signatures set, or None.

    Returns:
        ctypes.CDLL | None: The library.
    """
    library = load('batch_norm_relu')
    if library is not None and library.affine_relu.argtypes is None:
        for name, (result, arguments) in _SIGNATURES.items():
            function = getattr(library, name)
            function.restype = result
            function.argtypes = arguments
    return library


def _pointer(t: torch.Tensor):
    kind = _F64 if t.dtype == torch.float64 else _F32
    return ctypes.cast(t.data_ptr(), kind)


def row_fold(channels: int, voxels: int) -> int:
    """k, the voxels viewed as one row so that k·C is a multiple of the
    vector width (1 where C already is, or no k up to the width divides
    the voxels).

    Args:
        channels (int): C.
        voxels (int): N·D·H·W.

    Returns:
        int: k.
    """
    for fold in range(1, VECTOR_WIDTH + 1):
        if (fold * channels) % VECTOR_WIDTH == 0:
            return fold if voxels % fold == 0 else 1
    return 1


def _rows(x: torch.Tensor, fold: int) -> torch.Tensor:
    """The (voxels / k, k·C) view of a dense channels-last tensor."""
    return x.permute(0, 2, 3, 4, 1).reshape(-1, fold * x.shape[1])


class _BatchNormReLU(torch.autograd.Function):
    """``relu(batch_norm(x))`` with the batch's statistics (module doc)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps, library):
        channels = x.shape[1]
        voxels = x.numel() // channels
        fold = row_fold(channels, voxels)
        rows = _rows(x, fold)
        count, width = rows.shape
        threads = torch.get_num_threads()
        shift = rows[0, :channels].repeat(fold)
        first = torch.zeros(width, dtype=torch.float64)
        second = torch.zeros(width, dtype=torch.float64)
        if library.shifted_sums(
            _pointer(rows), count, width, threads, _pointer(shift),
            _pointer(first), _pointer(second),
        ):  # fmt: skip
            raise MemoryError('batch_norm_relu: no memory for the sums')
        first = first.view(fold, channels).sum(0) / voxels
        second = second.view(fold, channels).sum(0) / voxels
        mean = shift[:channels].double() + first
        var = (second - first.square()).clamp_min(0)
        invstd = torch.rsqrt(var + eps)
        gain = invstd if weight is None else invstd * weight.double()
        offset = -mean * gain
        if bias is not None:
            offset = offset + bias.double()
        scale, offset = gain.float().repeat(fold), offset.float().repeat(fold)
        out = torch.empty_like(x, memory_format=CL)
        library.affine_relu(
            _pointer(rows), _pointer(_rows(out, fold)), count, width,
            threads, _pointer(scale), _pointer(offset),
        )  # fmt: skip
        ctx.save_for_backward(x, weight, scale, offset, mean, invstd)
        ctx.fold, ctx.has_bias, ctx.library = fold, bias is not None, library
        mean, var = mean.float(), var.float()
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, _grad_mean, _grad_var):
        x, weight, scale, offset, mean, invstd = ctx.saved_tensors
        fold, library = ctx.fold, ctx.library
        channels = x.shape[1]
        voxels = x.numel() // channels
        grad = grad.contiguous(memory_format=CL)
        rows, grad_rows = _rows(x, fold), _rows(grad, fold)
        count, width = rows.shape
        threads = torch.get_num_threads()
        grad_sum = torch.zeros(width, dtype=torch.float64)
        dot = torch.zeros(width, dtype=torch.float64)  # Σ gz (x - mean)
        # Every tensor a kernel reads is held by a name for the call: a
        # pointer does not keep its tensor alive.
        centre = mean.float().repeat(fold)
        if library.masked_grad_sums(
            _pointer(rows), _pointer(grad_rows), count, width, threads,
            _pointer(scale), _pointer(offset), _pointer(centre),
            _pointer(grad_sum), _pointer(dot),
        ):  # fmt: skip
            raise MemoryError('batch_norm_relu: no memory for the sums')
        grad_sum = grad_sum.view(fold, channels).sum(0)
        dot = dot.view(fold, channels).sum(0)
        gain = invstd if weight is None else invstd * weight.double()
        # grad_x = gain (gz - Σgz / M - (x - mean) invstd² Σgz(x - mean) / M)
        x_coef = -gain * invstd.square() * dot / voxels
        const = -gain * grad_sum / voxels - x_coef * mean
        grad_x = torch.empty_like(x, memory_format=CL)
        grad_coef, x_coef, const = (
            v.float().repeat(fold) for v in (gain, x_coef, const)
        )
        library.masked_grad_input(
            _pointer(rows), _pointer(grad_rows), _pointer(_rows(grad_x, fold)),
            count, width, threads, _pointer(scale), _pointer(offset),
            _pointer(grad_coef), _pointer(x_coef), _pointer(const),
        )  # fmt: skip
        grad_weight = None
        if weight is not None:
            grad_weight = (dot * invstd).to(weight.dtype)
        grad_bias = grad_sum.float() if ctx.has_bias else None
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
