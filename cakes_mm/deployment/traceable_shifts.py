"""The deploy form's shifted temporal adds, out of place, for tracing.

In deploy mode a sub-kernel that spans time computes its off-centre frames
as extra channels and adds them back shifted by one frame
(:class:`cakes_mm.models.backbones.cakes_resnet_deploy.ShapeGroup`). PyTorch does that in place,
on slices of the output. Traced into ONNX, each in-place slice update
becomes a ScatterND with its index arithmetic: CAKES123D_P's graph then has
about 12,700 nodes. Written as zero padding along T and plain adds, the same
sums give about 3,200 nodes, which onnxruntime loads much sooner (times in
docs/onnx.md).
"""

import contextlib
import types
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..models.backbones.cakes_resnet_deploy import ShapeGroup


def shift_in_time(frames: torch.Tensor, offset: int) -> torch.Tensor:
    """Move a (N, T, ...) tensor by ``offset`` frames along T: frame t of
    the result is frame t + offset of the input, zero outside the clip.

    Args:
        frames (torch.Tensor): The tensor, time on dim 1 (5 dims).
        offset (int): Frames to look ahead (> 0) or back (< 0), at most T
            either way (deploy mode's offsets are +-1).

    Returns:
        torch.Tensor: The moved tensor, of the same shape.
    """
    if offset > 0:
        return F.pad(frames[:, offset:], (0, 0, 0, 0, 0, 0, 0, offset))
    return F.pad(frames[:, :offset], (0, 0, 0, 0, 0, 0, -offset, 0))


def out_of_place_forward(
    group: ShapeGroup, x: torch.Tensor, frames: int
) -> torch.Tensor:
    """:meth:`ShapeGroup.forward`, computed without in-place updates.

    Args:
        group (ShapeGroup): The group.
        x (torch.Tensor): (N·T, C_in, H, W) frames.
        frames (int): T.

    Returns:
        torch.Tensor: (N·T, width, H', W').
    """
    z = group.conv(x)
    if not group.offsets:
        return z
    nt, _, h, w = z.shape
    z = z.view(nt // frames, frames, -1, h, w)
    width = group.temporal_width
    temporal = z[:, :, :width]
    for i, offset in enumerate(group.offsets):
        start = group.width + i * width
        temporal = temporal + shift_in_time(
            z[:, :, start : start + width], offset
        )
    out = torch.cat([temporal, z[:, :, width : group.width]], dim=2)
    return out.reshape(nt, group.width, h, w)


@contextlib.contextmanager
def out_of_place_shifts(module: nn.Module) -> Iterator[nn.Module]:
    """Run every :class:`ShapeGroup` of ``module`` with
    :func:`out_of_place_forward` inside the block; restored after it.

    Args:
        module (nn.Module): Any module; those without deploy-form groups
            are unchanged.

    Yields:
        nn.Module: ``module``.
    """
    groups = [m for m in module.modules() if isinstance(m, ShapeGroup)]
    for group in groups:
        group.forward = types.MethodType(out_of_place_forward, group)
    try:
        yield module
    finally:
        for group in groups:
            del group.forward  # back to the class's in-place forward
