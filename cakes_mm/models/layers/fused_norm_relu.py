"""A norm that uses its input's statistics (a training-mode batch norm, or
an instance norm) and the ReLU after it, in one operator, on
``channels_last_3d`` CPU float32 or bfloat16 tensors.

PyTorch runs the pair as two operators, which read or write a whole tensor
five times forward (statistics; normalise; ReLU) and eight times backward
(ReLU's mask; the norm's two sums; its input gradient, each reading what the
one before wrote). The C kernels of ``kernels/batch_norm_relu.c`` do so
three times forward and five backward: the mask is recomputed from the
norm's input instead of being read from the ReLU's output. PmSCn's streams,
where a norm and a ReLU follow every 2D conv, use it in training. An
instance norm is the same kernels run on each sample's rows. In inference
(eval mode, no gradient), a batch norm's running statistics fold into one
scale and shift per channel, and one pass applies them and the ReLU.

A bfloat16 input (a conv's output under CPU autocast) gives a bfloat16
output, as PyTorch's norm does there; the kernels work in float and round
each output once. PyTorch's own bfloat16 norm is as slow as its float32 one
at PmSCn's unaligned widths (18, 20, 36, ...), where it falls back to
scalar code.

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
    channels_last_norm,
    folded_rows,
    is_channels_last_cpu_float,
    running_scale_shift,
    summed_sample_grads,
    update_running_stats,
    uses_batch_statistics,
    vector_fold,
)
from .native_kernels import ELEMENT_DTYPES, FLOAT_POINTER, bind
from .native_kernels import float_pointer as _pointer
from .native_kernels import half_flag as _half

CL = torch.channels_last_3d
_FLOAT = torch.float32
_F32, _DATA = FLOAT_POINTER, ctypes.c_void_p
_I64, _INT, _DOUBLE = ctypes.c_int64, ctypes.c_int, ctypes.c_double
_SIGNATURES = {
    'batch_norm_relu_forward': [_DATA, _DATA, _I64, _I64, _I64, _INT, _INT]
    + [_F32, _F32, _DOUBLE]
    + [_F32] * 5,
    'batch_norm_relu_backward': [_DATA] * 3
    + [_I64, _I64, _I64, _INT, _INT]
    + [_F32] * 7,
    'affine_relu': [_DATA, _DATA, _I64, _I64, _I64, _INT, _INT, _F32, _F32],
}


def kernels():
    """The loaded kernels with their signatures set, or None.

    Returns:
        ctypes.CDLL | None: The library.
    """
    return bind('batch_norm_relu', _SIGNATURES)


def _check(status: int) -> None:
    if status:
        raise MemoryError('batch_norm_relu: out of memory for its sums')


class _NormReLU(torch.autograd.Function):
    """``relu(norm(x))`` with statistics over each group of rows: the whole
    batch (a batch norm, one group) or each sample (an instance norm)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps, per_sample, library):
        samples, channels = x.shape[:2]
        groups = samples if per_sample else 1
        fold = vector_fold(channels, x.numel() // (groups * channels))
        rows = folded_rows(x, fold).view(groups, -1, fold * channels)
        out = torch.empty_like(x, memory_format=CL)
        out_rows = folded_rows(out, fold).view(rows.shape)
        mean, var, invstd = x.new_empty(3, groups, channels, dtype=_FLOAT)
        scale, offset = x.new_empty(2, groups, rows.shape[2], dtype=_FLOAT)
        for g in range(groups):
            _check(
                library.batch_norm_relu_forward(
                    rows[g].data_ptr(), out_rows[g].data_ptr(),
                    *rows.shape[1:], channels, torch.get_num_threads(),
                    _half(x), _pointer(weight), _pointer(bias), eps,
                    _pointer(mean[g]), _pointer(var[g]), _pointer(invstd[g]),
                    _pointer(scale[g]), _pointer(offset[g]),
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
        grad = grad.to(x.dtype).contiguous(memory_format=CL)
        groups, width = scale.shape
        rows = folded_rows(x, ctx.fold).view(groups, -1, width)
        grad_rows = folded_rows(grad, ctx.fold).view(rows.shape)
        grad_x = torch.empty_like(x, memory_format=CL)
        grad_x_rows = folded_rows(grad_x, ctx.fold).view(rows.shape)
        grad_weight, grad_bias = torch.empty_like(mean), torch.empty_like(mean)
        for g in range(groups):
            _check(
                ctx.library.batch_norm_relu_backward(
                    rows[g].data_ptr(), grad_rows[g].data_ptr(),
                    grad_x_rows[g].data_ptr(), *rows.shape[1:], x.shape[1],
                    torch.get_num_threads(), _half(x), _pointer(weight),
                    _pointer(mean[g]), _pointer(invstd[g]),
                    _pointer(scale[g]), _pointer(offset[g]),
                    _pointer(grad_weight[g]), _pointer(grad_bias[g]),
                )
            )  # fmt: skip
        return (
            *summed_sample_grads(grad_x, weight, grad_weight, grad_bias, ctx),
            None,
            None,
            None,
        )


def uses_instance_statistics(norm: nn.Module) -> bool:
    """Whether ``norm`` is an ``nn.InstanceNorm3d`` that always normalises
    with each sample's own statistics (it keeps no running ones).

    Args:
        norm (nn.Module): Any module.

    Returns:
        bool: True for such a norm.
    """
    return isinstance(norm, nn.InstanceNorm3d) and not norm.track_running_stats


def uses_running_statistics(norm: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``norm`` is an ``nn.BatchNorm3d`` in eval mode that
    normalises with its running statistics, and no gradient is wanted from
    it (inference).

    Args:
        norm (nn.Module): Any module.
        x (torch.Tensor): Its input.

    Returns:
        bool: True for such a norm.
    """
    if not isinstance(norm, nn.BatchNorm3d) or norm.training:
        return False
    if norm.running_mean is None or norm.running_var is None:
        return False
    tensors = (x, norm.weight, norm.bias)
    return not (
        torch.is_grad_enabled()
        and any(t is not None and t.requires_grad for t in tensors)
    )


def _affine_relu(x, norm, library) -> torch.Tensor:
    """``relu(norm(x))`` in inference, the running statistics folded into
    one scale and shift per channel, as PyTorch's CPU kernel folds them."""
    scale, offset = (t.float().contiguous() for t in running_scale_shift(norm))
    channels = x.shape[1]
    fold = vector_fold(channels, x.numel() // channels)
    rows = folded_rows(x, fold)
    out = torch.empty_like(x, memory_format=CL)
    _check(
        library.affine_relu(
            rows.data_ptr(), folded_rows(out, fold).data_ptr(), *rows.shape,
            channels, torch.get_num_threads(), _half(x), _pointer(scale),
            _pointer(offset),
        )
    )  # fmt: skip
    return out


def norm_relu(
    x: torch.Tensor, norm: nn.Module, act: nn.Module
) -> torch.Tensor:
    """``act(norm(x))``, in one fused operator where ``act`` is a ReLU,
    ``norm`` an ``nn.BatchNorm3d`` using the batch's statistics (or its
    running ones, in inference) or an ``nn.InstanceNorm3d`` without running
    statistics, ``x`` a CPU float32 or bfloat16
    ``channels_last_3d`` tensor outside a trace or compile, and the kernels
    load; otherwise the norm on this layout's paths
    (:func:`.channels_last_norm.channels_last_norm`) then ``act``.

    A batch norm's running statistics are updated as ``norm`` would update
    them.

    Args:
        x (torch.Tensor): (N, C, D, H, W).
        norm (nn.Module): The norm.
        act (nn.Module): The activation after it.

    Returns:
        torch.Tensor: The activation's output.
    """
    per_sample = uses_instance_statistics(norm)
    inference = uses_running_statistics(norm, x)
    library = None
    if (
        type(act) is nn.ReLU
        and (per_sample or inference or uses_batch_statistics(norm))
        and x.shape[1] == norm.num_features
        and all(
            p is None or (p.dtype == torch.float32 and p.is_contiguous())
            for p in (norm.weight, norm.bias)
        )
        and is_channels_last_cpu_float(x, ELEMENT_DTYPES)
    ):
        library = kernels()
    if library is None:
        return act(channels_last_norm(x, norm))
    if inference:
        return _affine_relu(x, norm, library)
    out, mean, var = _NormReLU.apply(
        x, norm.weight, norm.bias, norm.eps, per_sample, library
    )
    if not per_sample and norm.training and norm.track_running_stats:
        update_running_stats(norm, mean[0], var[0], x.numel() // x.shape[1])
    return out
