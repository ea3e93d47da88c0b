"""How a sub-kernel takes its weights from a larger kernel.

Two sources, one rule:

* **From a 2D kernel** (:func:`inflate_kernel`, ImageNet initialisation):
  reduce the 2D kernel over each spatial axis the sub-kernel lacks, by a sum
  (as in the CAKES authors' public code) or a mean (``mode='mean'``, the
  paper's wording); if the sub-kernel spans T, repeat it k times along T and
  divide by k.
* **From a trained 3D kernel** (:func:`shrink_kernel`, converting a 3D
  network): sum the kernel over each axis the sub-kernel lacks.

With sums, the sub-kernel keeps the source conv's response on any input that
is constant along the axes it dropped (and, for 2D sources, constant in
time): that is the property the tests check.
"""

from typing import Iterable, Tuple

import torch

from .sub_kernels import kernel_size

INFLATE_MODES = ('sum', 'mean')


def check_inflate_mode(mode: str) -> str:
    """Return ``mode`` if it is ``'sum'`` or ``'mean'``, else raise.

    Args:
        mode (str): How to reduce dropped spatial axes.

    Returns:
        str: The same mode.
    """
    if mode not in INFLATE_MODES:
        raise ValueError(
            f'inflate mode must be one of {INFLATE_MODES}, got {mode!r}'
        )
    return mode


def inflate_kernel(
    weight2d: torch.Tensor, name: str, mode: str = 'sum'
) -> torch.Tensor:
    """Inflate a 2D conv kernel into a 3D sub-kernel.

    Args:
        weight2d (torch.Tensor): A kernel of shape (C_out, C_in, k, k).
        name (str): The target sub-kernel name, e.g. ``'kx1x1'``.
        mode (str): ``'sum'`` or ``'mean'`` over dropped spatial axes.
            Defaults to ``'sum'``.

    Returns:
        torch.Tensor: A kernel of shape (C_out, C_in, kT, kH, kW).
    """
    check_inflate_mode(mode)
    if weight2d.dim() != 4 or weight2d.shape[-1] != weight2d.shape[-2]:
        raise ValueError(
            f'expected a square 2D kernel (C_out, C_in, k, k), '
            f'got shape {tuple(weight2d.shape)}'
        )
    k = weight2d.shape[-1]
    kt, kh, kw = kernel_size(name, k)
    reduce = torch.sum if mode == 'sum' else torch.mean
    weight = weight2d
    if kh == 1:
        weight = reduce(weight, dim=2, keepdim=True)
    if kw == 1:
        weight = reduce(weight, dim=3, keepdim=True)
    weight = weight.unsqueeze(2)
    if kt > 1:
        weight = weight.repeat(1, 1, kt, 1, 1) / kt
    return weight


def shrink_kernel(weight3d: torch.Tensor, name: str) -> torch.Tensor:
    """Shrink a trained k x k x k kernel into a sub-kernel.

    Args:
        weight3d (torch.Tensor): A kernel of shape (C_out, C_in, k, k, k).
        name (str): The target sub-kernel name, e.g. ``'1xkxk'``.

    Returns:
        torch.Tensor: The kernel summed over every axis the sub-kernel
        lacks, of shape (C_out, C_in, kT, kH, kW).
    """
    if weight3d.dim() != 5 or len(set(weight3d.shape[2:])) != 1:
        raise ValueError(
            f'expected a cubic 3D kernel (C_out, C_in, k, k, '
            f'k), got shape {tuple(weight3d.shape)}'
        )
    size = kernel_size(name, weight3d.shape[-1])
    dropped = [2 + axis for axis, s in enumerate(size) if s == 1]
    return weight3d.sum(dim=dropped, keepdim=True) if dropped else weight3d


def split_filters(
    weight: torch.Tensor, counts: Iterable[int]
) -> Tuple[torch.Tensor, ...]:
    """Split filters (output channels first) across op groups in order.

    Args:
        weight (torch.Tensor): A kernel of shape (C_out, ...).
        counts (Iterable[int]): Output channels of each group, in group
            order; they must sum to C_out.

    Returns:
        tuple[torch.Tensor]: One slice of filters per group.
    """
    counts = list(counts)
    if sum(counts) != weight.shape[0]:
        raise ValueError(
            f'groups of {counts} channels do not cover the '
            f'{weight.shape[0]} filters of the kernel'
        )
    return torch.split(weight, counts, dim=0)
