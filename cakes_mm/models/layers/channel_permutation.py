"""The channels of a channels-last CPU tensor put in a given order, in one
pass over memory.

A channels-last tensor is a matrix with one row per voxel (or pixel) and one
column per channel; permuting its channels permutes the columns. PyTorch's
``index_select`` along the columns copies element by element; the C kernel
of ``kernels/permute_columns.c`` copies each row's elements into their new
places, bit for bit, so the result is identical. It runs on dense CPU
float32 or bfloat16 tensors, outside tracing and compiling, where the
kernels load (:func:`.native_kernels.load`); elsewhere
:func:`permuted_columns` returns None and the caller runs PyTorch's op.
"""

import ctypes
from typing import Optional

import torch

from .native_kernels import ELEMENT_DTYPES, bind, half_flag

_SIGNATURES = {
    'permute_columns': [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int64,
        ctypes.c_int64,
        ctypes.c_int,
        ctypes.c_int,
    ]
}


def permuted_columns(
    rows: torch.Tensor, order: torch.Tensor
) -> Optional[torch.Tensor]:
    """``rows.index_select(1, order)`` for a contiguous 2D CPU tensor,
    computed by the kernel; None where the kernel does not apply.

    Args:
        rows (torch.Tensor): (R, C), contiguous.
        order (torch.Tensor): A permutation of ``range(C)``.

    Returns:
        torch.Tensor | None: The permuted copy, or None.
    """
    if (
        rows.device.type != 'cpu'
        or rows.dtype not in ELEMENT_DTYPES
        or rows.dim() != 2
        or not rows.is_contiguous()
        or rows.numel() == 0
        or torch.jit.is_tracing()
        or torch.compiler.is_compiling()
    ):
        return None
    library = bind('permute_columns', _SIGNATURES)
    if library is None:
        return None
    order = order.to(device='cpu', dtype=torch.int64).contiguous()
    out = torch.empty_like(rows)
    library.permute_columns(
        out.data_ptr(),
        rows.data_ptr(),
        order.data_ptr(),
        rows.shape[0],
        rows.shape[1],
        half_flag(rows),
        torch.get_num_threads(),
    )
    return out
