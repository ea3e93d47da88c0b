"""``dict(type='conv2d')``: planar convs, one orientation."""

from .registry import OPS, OpEntry


@OPS.register
class Conv2dOp(OpEntry):
    """Planar convs: the network's 2D kernel in place of each 3D one
    (3x3x1 in a volumetric network; 1x3x3 over (T, H, W) in a video
    backbone, the C2D baseline)."""

    name = 'conv2d'
    summary = 'planar convs (3x3x1; 1x3x3 over T, H, W for video)'
