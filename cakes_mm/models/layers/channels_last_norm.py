"""Batch and instance norms over ``channels_last_3d`` CPU tensors, where
PyTorch's own kernels are several times slower than in NCDHW.

A channels-last tensor of C channels is, in memory, an (N, M, C) array, M
the voxels of a sample. Both norms here work on that view, so they never
copy the tensor into NCDHW and back.

* **Batch norm at an unaligned width.** PyTorch's CPU batch norm on a
  channels-last tensor vectorises along the channels; when their number is
  not a multiple of the vector width (16 floats with AVX-512), it runs
  several times slower per element than at an aligned width. PmSCn's Eq. 5
  widths (18, 20, 36, ...) are rarely aligned, so in training its streams'
  norms cost more than their convs. :func:`aligned_batch_norm` views the
  (N·M, C) rows as (N·M / k, k·C), k·C a multiple of the vector width,
  computes the statistics of the k·C columns there, merges each channel's
  k columns by the parallel-variance rule and normalises with per-column
  scale and shift; its backward pass works on the same view.
* **Instance norm.** PyTorch normalises each sample's channels as one batch
  norm over a (1, N·C, D, H, W) view, which a channels-last tensor lacks,
  so it copies. :func:`channels_last_instance_norm` runs the batch norm
  kernel on each sample's (M, C) rows instead, writing into one output, in
  float32 or in bfloat16 (CPU autocast). It also avoids a bug of PyTorch
  2.13's CPU instance norm: for a batch of one sample whose gradient
  arrives channels-last, PyTorch's input gradient is wrong (by as much as
  the gradient itself; a batch norm and a group norm are right).

Both give the plain norm's result up to rounding, and both step aside (the
plain norm runs) while tracing or compiling, so exported and compiled
graphs keep the standard operators.
"""

import math
from typing import Tuple

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable
from torch.nn.modules.batchnorm import _BatchNorm

#: Channels a CPU vector holds (floats under AVX-512); a multiple of 8.
VECTOR_WIDTH = 16
#: Widths from which PyTorch's own kernel is as fast (measured, 2 threads).
ALIGNED_BELOW = 64
#: The input dtypes of :func:`channels_last_instance_norm`.
INSTANCE_NORM_DTYPES = (torch.float32, torch.bfloat16)


def is_channels_last_cpu_float(
    x: torch.Tensor, dtypes: Tuple[torch.dtype, ...] = (torch.float32,)
) -> bool:
    """Whether ``x`` is a 5D CPU ``channels_last_3d`` tensor of one of
    ``dtypes`` (and not also NCDHW-contiguous), outside tracing and
    compiling.

    Args:
        x (torch.Tensor): Any tensor.
        dtypes (tuple[torch.dtype, ...]): The dtypes allowed. Defaults to
            float32 alone, which this module's norms take.

    Returns:
        bool: True where this module's norms apply.
    """
    if x.dim() != 5 or x.device.type != 'cpu' or x.dtype not in dtypes:
        return False
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return False  # traced and compiled graphs keep the plain norms
    if not x.is_contiguous(memory_format=torch.channels_last_3d):
        return False
    return not x.is_contiguous()  # else a single voxel, or one channel


def _sample_rows(x: torch.Tensor) -> torch.Tensor:
    """The (N, M, C) view of a channels-last tensor."""
    return x.permute(0, 2, 3, 4, 1).reshape(x.shape[0], -1, x.shape[1])


def _new_like(x: torch.Tensor) -> torch.Tensor:
    """An uninitialised channels-last tensor of ``x``'s shape, to be filled
    through its row views (a Function must not return a view)."""
    return torch.empty_like(x, memory_format=torch.channels_last_3d)


def column_fold(x: torch.Tensor) -> int:
    """k, the number of channel rows folded into one aligned row of ``x``;
    0 where ``x`` is not a CPU float32 ``channels_last_3d`` tensor whose
    voxels split into such rows, where its width is already aligned or
    wide enough (``ALIGNED_BELOW``) for PyTorch's kernel to be as fast, and
    while tracing or compiling.

    Args:
        x (torch.Tensor): (N, C, D, H, W).

    Returns:
        int: k >= 2, or 0.
    """
    if not is_channels_last_cpu_float(x):
        return 0
    channels = x.shape[1]
    if channels >= ALIGNED_BELOW:
        return 0
    fold = vector_fold(channels, x.numel() // channels)
    return fold if fold > 1 else 0


def vector_fold(channels: int, voxels: int) -> int:
    """k, the fewest voxels whose channels side by side fill whole CPU
    vectors (k·C a multiple of ``VECTOR_WIDTH``); 1 where C already does,
    or where k does not divide the voxels.

    Args:
        channels (int): C.
        voxels (int): N·D·H·W.

    Returns:
        int: k.
    """
    fold = VECTOR_WIDTH // math.gcd(channels, VECTOR_WIDTH)
    return fold if voxels % fold == 0 else 1


def folded_rows(x: torch.Tensor, fold: int) -> torch.Tensor:
    """The (N·M / k, k·C) view of a dense channels-last tensor: each
    sample's rows one after the other, k voxels to a row.

    Args:
        x (torch.Tensor): (N, C, D, H, W), dense in ``channels_last_3d``.
        fold (int): k, which divides the voxels of a sample.

    Returns:
        torch.Tensor: The view.
    """
    return _sample_rows(x).view(-1, fold * x.shape[1])


def _tile(values: torch.Tensor, fold: int) -> torch.Tensor:
    """Per-channel values repeated for each of the k folded rows."""
    return values.repeat(fold)


def _per_channel(columns: torch.Tensor, fold: int) -> torch.Tensor:
    """Sum a (k·C,) vector of column values into (C,) channel values."""
    return columns.view(fold, -1).sum(0)


class _AlignedBatchNorm(torch.autograd.Function):
    """Training-mode batch norm on the aligned view (see the module doc)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps, fold):
        rows = folded_rows(x, fold)
        # Column statistics by the (aligned, fast) batch norm kernel; its
        # normalised output is not used.
        _, mean, column_invstd = torch.native_batch_norm(
            rows, None, None, None, None, True, 0.0, 0.0
        )
        var = column_invstd.square().reciprocal()
        channel_mean = _per_channel(mean, fold) / fold
        spread = (mean - _tile(channel_mean, fold)).square()
        channel_var = _per_channel(var + spread, fold) / fold
        invstd = torch.rsqrt(channel_var + eps)
        scale = invstd if weight is None else invstd * weight
        shift = -channel_mean * scale
        if bias is not None:
            shift = shift + bias
        out = _new_like(x)
        torch.addcmul(
            _tile(shift, fold),
            rows,
            _tile(scale, fold),
            out=folded_rows(out, fold),
        )
        ctx.save_for_backward(x, weight, channel_mean, invstd)
        ctx.fold = fold
        ctx.has_bias = bias is not None
        ctx.mark_non_differentiable(channel_mean, channel_var)
        return out, channel_mean, channel_var

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, _grad_mean, _grad_var):
        x, weight, mean, invstd = ctx.saved_tensors
        fold = ctx.fold
        grad = grad.contiguous(memory_format=torch.channels_last_3d)
        rows, grad_rows = folded_rows(x, fold), folded_rows(grad, fold)
        count = rows.shape[0] * fold
        ones = rows.new_ones(rows.shape[0])
        grad_sum = _per_channel(ones @ grad_rows, fold)
        dot = _per_channel(torch.linalg.vecdot(grad_rows, rows, dim=0), fold)
        dot = dot - mean * grad_sum  # sum of grad * (x - mean)
        gain = invstd if weight is None else invstd * weight
        # grad_x = gain * (grad - grad_sum / M - (x - mean) invstd² dot / M)
        x_coef = -gain * invstd.square() * dot / count
        const = -gain * grad_sum / count - x_coef * mean
        grad_x = _new_like(x)
        grad_x_rows = folded_rows(grad_x, fold)
        torch.addcmul(
            _tile(const, fold), rows, _tile(x_coef, fold), out=grad_x_rows
        )
        grad_x_rows.addcmul_(grad_rows, _tile(gain, fold))
        grad_weight = dot * invstd if weight is not None else None
        grad_bias = grad_sum if ctx.has_bias else None
        return grad_x, grad_weight, grad_bias, None, None


def aligned_batch_norm(x: torch.Tensor, norm: nn.Module) -> torch.Tensor:
    """``norm(x)`` for a training-mode batch norm, computed on the aligned
    view where :func:`column_fold` allows, else by ``norm`` itself.

    Running statistics are updated as ``norm`` would (momentum, or the
    cumulative average where ``momentum`` is None).

    Args:
        x (torch.Tensor): (N, C, D, H, W).
        norm (nn.Module): The norm; only an ``nn.BatchNorm3d`` in
            training takes the aligned path.

    Returns:
        torch.Tensor: The normalised ``x``, channels-last.
    """
    fold = column_fold(x)
    if not (
        fold
        and uses_batch_statistics(norm)
        and x.shape[1] == norm.num_features
    ):
        return norm(x)  # PyTorch's own path (and error, for a wrong width)
    out, mean, var = _AlignedBatchNorm.apply(
        x, norm.weight, norm.bias, norm.eps, fold
    )
    if norm.training and norm.track_running_stats:
        update_running_stats(norm, mean, var, x.numel() // x.shape[1])
    return out


def uses_batch_statistics(norm: nn.Module) -> bool:
    """Whether ``norm`` is a per-process ``nn.BatchNorm3d`` that normalises
    with the batch's own statistics now (training, or no running
    statistics). A ``SyncBatchNorm`` is not: its statistics span processes.

    Args:
        norm (nn.Module): Any module.

    Returns:
        bool: True for such a batch norm.
    """
    return isinstance(norm, nn.BatchNorm3d) and (
        norm.training or norm.running_mean is None
    )


@torch.no_grad()
def running_scale_shift(norm: _BatchNorm):
    """A batch norm with its running statistics as one scale and shift per
    channel: ``norm(x) = x * scale + shift`` in eval mode.

    Args:
        norm (_BatchNorm): A norm that tracks running statistics.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: (C,) scale and shift.
    """
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.affine:
        shift = shift + norm.bias
    return scale, shift


@torch.no_grad()
def update_running_stats(
    norm: _BatchNorm, mean: torch.Tensor, var: torch.Tensor, count: int
) -> None:
    """Move ``norm``'s running statistics towards a batch's, as
    ``nn.BatchNorm3d`` does (unbiased variance).

    Args:
        norm (_BatchNorm): The norm.
        mean (torch.Tensor): (C,) batch mean.
        var (torch.Tensor): (C,) batch variance (biased).
        count (int): Values per channel in the batch.
    """
    norm.num_batches_tracked.add_(1)
    if norm.momentum is None:
        momentum = 1.0 / float(norm.num_batches_tracked)
    else:
        momentum = norm.momentum
    unbiased = var * (count / max(count - 1, 1))
    norm.running_mean.lerp_(mean, momentum)
    norm.running_var.lerp_(unbiased, momentum)


class _ChannelsLastInstanceNorm(torch.autograd.Function):
    """Instance norm as one batch norm per sample over its (M, C) rows."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        rows = _sample_rows(x)
        out = _new_like(x)
        out_rows = _sample_rows(out)
        # Statistics in at least float32 (bfloat16's), as PyTorch keeps them.
        stats = torch.promote_types(x.dtype, torch.float32)
        mean = rows.new_empty(rows.shape[0], rows.shape[2], dtype=stats)
        invstd = torch.empty_like(mean)
        for n, sample in enumerate(rows):
            torch.native_batch_norm(
                sample, weight, bias, None, None, True, 0.0, eps,
                out=(out_rows[n], mean[n], invstd[n]),
            )  # fmt: skip
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight, mean, invstd = ctx.saved_tensors
        rows = _sample_rows(x)
        grad = grad.contiguous(memory_format=torch.channels_last_3d)
        grad_rows = _sample_rows(grad)
        grad_x = _new_like(x)
        grad_x_rows = _sample_rows(grad_x)
        grad_weight, grad_bias = torch.empty_like(mean), torch.empty_like(mean)
        for n, sample in enumerate(rows):
            torch.ops.aten.native_batch_norm_backward.out(
                grad_rows[n], sample, weight, None, None, mean[n], invstd[n],
                True, ctx.eps, [True, True, True],
                out0=grad_x_rows[n], out1=grad_weight[n], out2=grad_bias[n],
            )  # fmt: skip
        return (
            *summed_sample_grads(grad_x, weight, grad_weight, grad_bias, ctx),
            None,
        )


def summed_sample_grads(grad_x, weight, grad_weight, grad_bias, ctx):
    """A per-sample norm's gradients: the input's, and the affine
    parameters' summed over the samples (None where the norm has none).

    Args:
        grad_x (torch.Tensor): The input's gradient.
        weight (torch.Tensor, optional): The norm's weight.
        grad_weight (torch.Tensor): (samples, C) weight gradients.
        grad_bias (torch.Tensor): (samples, C) bias gradients.
        ctx: The autograd context, whose ``has_bias`` says if there is one.

    Returns:
        tuple: (grad_x, grad_weight or None, grad_bias or None).
    """
    return (
        grad_x,
        None if weight is None else grad_weight.sum(0),
        grad_bias.sum(0) if ctx.has_bias else None,
    )


def channels_last_instance_norm(
    x: torch.Tensor, norm: nn.Module
) -> torch.Tensor:
    """``norm(x)`` for an ``nn.InstanceNorm3d`` without running statistics,
    computed on the channels-last rows where
    :func:`is_channels_last_cpu_float` allows (float32, or bfloat16 as
    under CPU autocast, where PyTorch copies to NCDHW and back too), else
    by ``norm`` itself.

    Args:
        x (torch.Tensor): (N, C, D, H, W).
        norm (nn.Module): The norm; other modules run as they are.

    Returns:
        torch.Tensor: The normalised ``x``.
    """
    if not (
        is_channels_last_cpu_float(x, INSTANCE_NORM_DTYPES)
        and isinstance(norm, nn.InstanceNorm3d)
        and not norm.track_running_stats
        and x.shape[1] == norm.num_features
    ):
        return norm(x)
    return _ChannelsLastInstanceNorm.apply(x, norm.weight, norm.bias, norm.eps)


def channels_last_norm(x: torch.Tensor, norm: nn.Module) -> torch.Tensor:
    """``norm(x)``, on this module's channels-last path for its kind of
    norm where one applies (:func:`aligned_batch_norm`;
    :func:`channels_last_instance_norm` from ``VECTOR_WIDTH`` channels: at
    8 channels its per-row kernel ran 3x slower than PyTorch's copy, at 16
    to 72 it was 1.2-3x faster, forward and backward at 2x64³; and at any
    width for a batch of one sample, where PyTorch 2.13's CPU instance norm
    returns a wrong input gradient when the gradient it gets is
    channels-last, as a channels-last network's is).

    Args:
        x (torch.Tensor): (N, C, D, H, W).
        norm (nn.Module): Any norm.

    Returns:
        torch.Tensor: The normalised ``x``.
    """
    if isinstance(norm, nn.InstanceNorm3d) and (
        x.shape[1] >= VECTOR_WIDTH or x.shape[0] == 1
    ):
        return channels_last_instance_norm(x, norm)
    return aligned_batch_norm(x, norm)
