"""Concatenation on channels with the residual add and ReLU that follow it,
in one pass over memory, for inference on the CPU.

A deploy-form PmSCn block ends with ``relu(cat(streams) + identity)``:
PyTorch writes the concatenation, reads it back to add, and reads it again
for the ReLU, seven passes over a tensor of the block's size where three do.
The C kernel of ``kernels/concat_add_relu.c`` writes each output value once,
by the same float addition, so the result is identical.

It runs outside autograd (nothing needs a gradient), on dense CPU float32
parts, or bfloat16 ones (CPU autocast; the sum is taken in float and
rounded once, as PyTorch's bfloat16 add does), that share a dtype and a
layout (all ``channels_last_3d`` or all NCDHW; a
residual in another layout is first copied to it), outside tracing and
compiling, where the kernels load
(:func:`.native_kernels.load`); PyTorch's operators run otherwise.
"""

import ctypes
from typing import Optional, Sequence

import torch

from .native_kernels import ELEMENT_DTYPES, bind, half_flag

_SIGNATURES = {
    'concat_add_relu': [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_int64),
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int64,
        ctypes.c_int64,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
    ]
}


def _cpu_float_without_grad(tensor: torch.Tensor, dtype) -> bool:
    """Whether ``tensor`` is a 5D CPU tensor of ``dtype`` that needs no
    gradient."""
    return (
        tensor.dim() == 5
        and tensor.device.type == 'cpu'
        and tensor.dtype == dtype
        and not tensor.requires_grad
    )


def _shared_layout(tensors: Sequence[torch.Tensor]):
    """The memory format every tensor is dense in, NCDHW first; None if
    there is none, or the tensors are not 5D CPU tensors without grad, all
    of the first one's dtype, one the kernel takes."""
    dtype = tensors[0].dtype
    if dtype not in ELEMENT_DTYPES or not all(
        _cpu_float_without_grad(t, dtype) for t in tensors
    ):
        return None
    for layout in (torch.contiguous_format, torch.channels_last_3d):
        if all(t.is_contiguous(memory_format=layout) for t in tensors):
            return layout
    return None


def _fits(residual: Optional[torch.Tensor], shape, dtype) -> bool:
    """Whether ``residual`` is None, or a CPU tensor of ``shape`` and
    ``dtype`` that needs no gradient (in any layout: it is copied to the
    parts')."""
    return residual is None or (
        residual.shape == shape and _cpu_float_without_grad(residual, dtype)
    )


def _same_voxels(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` and ``b`` share the batch and spatial sizes."""
    return a.shape[0] == b.shape[0] and a.shape[2:] == b.shape[2:]


def _row_count(x: torch.Tensor, layout) -> int:
    """Rows of the kernel's view: samples (NCDHW) or voxels."""
    if layout == torch.contiguous_format:
        return x.shape[0]
    return x.numel() // x.shape[1]


def concat_add_relu(
    parts: Sequence[torch.Tensor],
    residual: Optional[torch.Tensor] = None,
    relu: bool = False,
) -> torch.Tensor:
    """``relu(torch.cat(parts, 1) + residual)``, each step optional.

    Args:
        parts (Sequence[torch.Tensor]): (N, C_i, D, H, W) tensors of one
            batch and spatial shape.
        residual (torch.Tensor, optional): (N, sum C_i, D, H, W), added.
        relu (bool): Whether a ReLU follows. Defaults to False.

    Returns:
        torch.Tensor: The result, in the parts' layout.
    """
    first = parts[0]
    shape = (first.shape[0], sum(p.shape[1] for p in parts), *first.shape[2:])
    layout, library = None, None
    if not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
        layout = _shared_layout(parts)
    if (
        layout is not None
        and all(_same_voxels(p, first) for p in parts)
        and _fits(residual, shape, first.dtype)
        and first.numel() > 0
    ):
        library = bind('concat_add_relu', _SIGNATURES)
    if library is None:
        out = torch.cat(list(parts), 1)
        if residual is not None:
            out = out + residual
        return torch.relu(out) if relu else out
    if residual is not None:
        residual = residual.contiguous(memory_format=layout)
    out = torch.empty(shape, dtype=first.dtype, memory_format=layout)
    rows = _row_count(out, layout)
    widths = [p.numel() // rows for p in parts]
    library.concat_add_relu(
        out.data_ptr(),
        (ctypes.c_void_p * len(parts))(*(p.data_ptr() for p in parts)),
        (ctypes.c_int64 * len(parts))(*widths),
        len(parts),
        None if residual is None else residual.data_ptr(),
        rows,
        out.numel() // rows,
        int(relu),
        torch.get_num_threads(),
        half_flag(first),
    )
    return out
