"""``dict(type='conv3d')``: plain k x k x k convs."""

from .registry import OPS, OpEntry


@OPS.register
class Conv3dOp(OpEntry):
    """Full 3D convs; the network as it is built."""

    name = 'conv3d'
    summary = 'plain k x k x k convs'
