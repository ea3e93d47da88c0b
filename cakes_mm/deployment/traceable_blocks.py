"""CAKES convs' fused blocks with their kernels held as constants, for
tracing.

A :class:`~cakes_mm.models.layers.CAKESConv3d` computes narrow sub-kernel
groups as one conv over their kernels, zero-padded to a common box
(:mod:`cakes_mm.models.layers.conv_plan`). Traced, that padding is a chain
of ONNX ops whose output shape the exporter does not know, and it refuses
to export a conv whose kernel shape is unknown. A block with no full-size
kernel among its groups (the MRI demo UNet's CAKES 2D layers, say) could
therefore not be exported. Held as constants, the padded kernels go into
the file as they are.
"""

import contextlib
from typing import Iterator

import torch.nn as nn

from ..models.layers import CAKESConv3d


@contextlib.contextmanager
def held_block_kernels(module: nn.Module) -> Iterator[nn.Module]:
    """Hold the fused kernels of every :class:`CAKESConv3d` of ``module``
    (:meth:`CAKESConv3d.hold_block_kernels`) inside the block; dropped
    after it.

    Args:
        module (nn.Module): Any module; those without CAKES convs are
            unchanged.

    Yields:
        nn.Module: ``module``.
    """
    layers = [m for m in module.modules() if isinstance(m, CAKESConv3d)]
    for layer in layers:
        layer.hold_block_kernels()
    try:
        yield module
    finally:
        for layer in layers:
            layer.hold_block_kernels(False)
