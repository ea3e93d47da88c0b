"""``dict(type='p3d')``: a planar conv then a 1D conv, nothing between."""

from .registry import OPS, OpEntry


@OPS.register
class P3dOp(OpEntry):
    """Pseudo-3D: the planar conv then the 1D conv along the remaining
    axis (3x3x1 then 1x1x3 in a volume; 1x3x3 then 3x1x1 in a clip)."""

    name = 'p3d'
    summary = 'planar conv then 1D conv, nothing between'
