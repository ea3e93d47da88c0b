"""Inflation of 2D ResNet weights into CAKES sub-kernels.

One rule covers every sub-kernel name (DESIGN.md §3):

* reduce the 2D kernel over each spatial axis the sub-kernel lacks: a sum by
  default (as in the paper's public code), or a mean (``mode='mean'``, the
  paper's wording);
* if the sub-kernel spans T, repeat it k times along T and divide by k.

With ``mode='sum'`` the inflated sub-kernel then gives the 2D conv's response
on any input that is constant in time and along the dropped spatial axes.
"""
from typing import Dict, Iterable, Tuple

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
        raise ValueError(f'inflate mode must be one of {INFLATE_MODES}, '
                         f'got {mode!r}')
    return mode


def inflate_kernel(weight2d: torch.Tensor, name: str,
                   mode: str = 'sum') -> torch.Tensor:
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
        raise ValueError(f'expected a square 2D kernel (C_out, C_in, k, k), '
                         f'got shape {tuple(weight2d.shape)}')
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


def inflate_like(weight2d: torch.Tensor,
                 shape3d: Tuple[int, ...]) -> torch.Tensor:
    """Inflate a 2D kernel to a full 3D kernel shape: repeat along T / kT.

    Used for the stem, the 1x1x1 convs and the shortcut, whose spatial size
    matches the 2D kernel.

    Args:
        weight2d (torch.Tensor): A kernel of shape (C_out, C_in, kH, kW).
        shape3d (tuple[int]): The target (C_out, C_in, kT, kH, kW).

    Returns:
        torch.Tensor: The inflated kernel.
    """
    kt = shape3d[2]
    weight = weight2d.unsqueeze(2).repeat(1, 1, kt, 1, 1) / kt
    if tuple(weight.shape) != tuple(shape3d):
        raise ValueError(f'cannot inflate a 2D kernel of shape '
                         f'{tuple(weight2d.shape)} to {tuple(shape3d)}')
    return weight


def split_filters(weight2d: torch.Tensor,
                  counts: Iterable[int]) -> Tuple[torch.Tensor, ...]:
    """Split 2D filters across op groups in order.

    Args:
        weight2d (torch.Tensor): A kernel of shape (C_out, C_in, k, k).
        counts (Iterable[int]): Output channels of each group, in group
            order; they must sum to C_out.

    Returns:
        tuple[torch.Tensor]: One slice of filters per group.
    """
    counts = list(counts)
    if sum(counts) != weight2d.shape[0]:
        raise ValueError(f'groups of {counts} channels do not cover the '
                         f'{weight2d.shape[0]} filters of the 2D kernel')
    return torch.split(weight2d, counts, dim=0)


def copy_into(target: Dict[str, torch.Tensor], key: str,
              value: torch.Tensor) -> None:
    """Copy ``value`` into ``target[key]`` in place, checking the shape.

    Args:
        target (dict[str, torch.Tensor]): A module's state dict.
        key (str): The key to fill.
        value (torch.Tensor): The new value.
    """
    if tuple(target[key].shape) != tuple(value.shape):
        raise ValueError(f'{key}: the checkpoint gives shape '
                         f'{tuple(value.shape)}, the model expects '
                         f'{tuple(target[key].shape)}')
    with torch.no_grad():
        target[key].copy_(value)
