"""Small versions of the volumetric networks, for fast tests."""

from cakes_mm.models import C2FNAS, DenseNet3D, UNet3D

ONE_D = ['kx1x1', '1xkx1', '1x1xk']
TWO_D = ['kxkx1', 'kx1xk', '1xkxk']
ALL_OPS = ['kxkxk'] + TWO_D + ONE_D

#: Reduced widths of each network.
SMALL = {
    C2FNAS: dict(base_channels=4),
    UNet3D: dict(features=(4, 8, 16)),
    DenseNet3D: dict(stem_channels=4, growth_rate=8, side_channels=2),
}


def small(network, op='conv3d', out_channels=3, **kwargs):
    """A reduced-width network with one input channel."""
    options = {**SMALL[network], **kwargs}
    return network(3, 1, out_channels, op=op, **options)
