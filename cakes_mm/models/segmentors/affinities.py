"""Affinity graphs of instance label volumes, and segments from predicted
affinities (the first and last steps of Funke et al.'s EM pipeline).

The affinity of voxel ``v`` along axis ``a`` (0, 1, 2: the volume's
D, H, W axes) links ``v`` with its neighbour ``v - e_a``: it is 1 when
both carry the same nonzero label, else 0. Voxels on the first slice along
``a`` have no such neighbour; their affinity along ``a`` is undefined and
masked out.
"""

from typing import Tuple

import numpy as np
import torch


def _pair_slices(axis: int) -> Tuple[tuple, tuple]:
    """Index tuples of the voxels (``v``) and of their neighbours
    (``v - e_axis``) along ``axis`` of a ``[..., D, H, W]`` array."""
    here = [slice(None)] * 3
    there = [slice(None)] * 3
    here[axis] = slice(1, None)
    there[axis] = slice(None, -1)
    return (Ellipsis, *here), (Ellipsis, *there)


def affinity_targets(
    labels: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The affinities of an instance label volume, and where they exist.

    Args:
        labels (torch.Tensor): Instance ids ``[..., D, H, W]``, 0 for the
            background.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: Float affinities and a float
        mask, both ``[..., 3, D, H, W]``; the mask is 0 where the
        neighbour lies outside the volume.
    """
    shape = (*labels.shape[:-3], 3, *labels.shape[-3:])
    affinities = labels.new_zeros(shape, dtype=torch.float32)
    mask = torch.zeros_like(affinities)
    for axis in range(3):
        here, there = _pair_slices(axis)
        same = (labels[here] == labels[there]) & (labels[here] != 0)
        affinities.select(-4, axis)[here] = same.float()
        mask.select(-4, axis)[here] = 1.0
    return affinities, mask


def segment_affinities(
    affinities: np.ndarray, threshold: float = 0.5
) -> np.ndarray:
    """Segments as the connected components of thresholded affinities.

    Voxels ``v`` and ``v - e_a`` join when ``affinities[a, v] >
    threshold`` (scipy's graph ``connected_components``). A voxel joined
    to none of its six neighbours is background (0); the segments are
    numbered 1..K in the order of their first voxel.

    Args:
        affinities (np.ndarray): ``[3, D, H, W]``, e.g. probabilities.
        threshold (float): The linking threshold. Defaults to 0.5.

    Returns:
        np.ndarray: int64 segment ids ``[D, H, W]``.
    """
    # scipy is part of the optional "volumetric" extra.
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    if affinities.ndim != 4 or affinities.shape[0] != 3:
        raise ValueError(
            f'affinities must be [3, D, H, W], got {list(affinities.shape)}'
        )
    shape = affinities.shape[1:]
    size = int(np.prod(shape))
    index = np.arange(
        size, dtype=np.int32 if size < 2**31 else np.int64
    ).reshape(shape)
    linked = np.zeros(shape, dtype=bool)
    sources, targets = [], []
    for axis in range(3):
        here, there = _pair_slices(axis)
        links = affinities[axis][here] > threshold
        sources.append(index[here][links])
        targets.append(index[there][links])
        linked[here] |= links
        linked[there] |= links
    sources, targets = np.concatenate(sources), np.concatenate(targets)
    graph = coo_array(
        (np.ones(len(sources), dtype=np.int8), (sources, targets)),
        shape=(index.size, index.size),
    )
    _, components = connected_components(graph, directed=False)
    components = np.where(linked.ravel(), components, -1)
    _, first = np.unique(components, return_index=True)
    order = np.full(components.max() + 2, 0, dtype=np.int64)
    kept = np.sort(first[components[first] >= 0])
    order[components[kept] + 1] = np.arange(1, len(kept) + 1)
    return order[components + 1].reshape(shape)
