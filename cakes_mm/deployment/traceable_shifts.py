"""The deploy form's shifted temporal adds, out of place, for tracing.

In deploy mode a sub-kernel that spans time computes its off-centre frames
as extra channels and adds them back shifted by one frame
(:class:`cakes_mm.models.backbones.cakes_resnet_deploy.ShapeGroup`). By
default it does that in place, on slices of the output. Traced into ONNX, each in-place slice update
becomes a ScatterND with its index arithmetic: CAKES123D_P's graph then has
about 12,700 nodes. Written as zero padding along T and plain adds, the same
sums give about 3,200 nodes, which onnxruntime loads much sooner (times in
docs/onnx.md).
"""

import contextlib
from typing import Iterator

import torch.nn as nn

from ..models.backbones.cakes_resnet_deploy import ShapeGroup


@contextlib.contextmanager
def out_of_place_shifts(module: nn.Module) -> Iterator[nn.Module]:
    """Run every :class:`ShapeGroup` of ``module`` with its shifted adds out
    of place (:attr:`ShapeGroup.out_of_place`) inside the block; restored
    after it.

    Args:
        module (nn.Module): Any module; those without deploy-form groups
            are unchanged.

    Yields:
        nn.Module: ``module``.
    """
    groups = [m for m in module.modules() if isinstance(m, ShapeGroup)]
    before = [group.out_of_place for group in groups]
    for group in groups:
        group.out_of_place = True
    try:
        yield module
    finally:
        for group, out_of_place in zip(groups, before):
            group.out_of_place = out_of_place
