"""MONAI's 3D networks as they come (default arguments; the required ones as
in MONAI's documentation), on a small input: each converts to fixed CAKES,
to both supernets and to P2SC2 with no exclude list, and learns."""

import pytest
from monai.networks import nets

from cakes_mm.models.convert import (
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
)

from .networks import every_parameter_learns

pytestmark = pytest.mark.slow  # VNet alone is 45M parameters

OPS = ['1xkxk', 'kx1x1', 'kxkxk']

#: name: (build, input size, pre-activation (search adds norms), converted
#: layers by CAKES, by each supernet, and P2SC2 units).
NETWORKS = {
    'UNet': (
        lambda: nets.UNet(
            3, 1, 2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2)
        ),
        32,
        False,
        (5, 5, 5),
    ),
    'SegResNet': (lambda: nets.SegResNet(spatial_dims=3), 16, True, (28,) * 3),
    'DynUNet': (
        lambda: nets.DynUNet(
            3,
            1,
            2,
            kernel_size=[3, 3, 3],
            strides=[1, 2, 2],
            upsample_kernel_size=[2, 2],
        ),
        16,
        False,
        (10, 10, 10),
    ),
    # Its 2x2x2 down convs are skipped; its last conv has 1 channel, too
    # few for 2 streams.
    'VNet': (lambda: nets.VNet(spatial_dims=3), 32, False, (16, 16, 10)),
    'HighResNet': (
        lambda: nets.HighResNet(spatial_dims=3),
        16,
        True,
        (19, 19, 10),
    ),
    'AttentionUnet': (
        lambda: nets.AttentionUnet(
            3, 1, 2, channels=(16, 32, 64, 128), strides=(2, 2, 2)
        ),
        16,
        False,
        (11, 11, 7),
    ),
}

#: Gradients that are zero by construction in one step, by conversion.
EXEMPT = {
    # VNet's last conv has 1 channel: a performance-priority step draws one
    # op for it, so the other two ops get no gradient in that step.
    ('VNet', 'performance'): [r'^out_tr\.conv_block\.conv\.convs\.'],
}


def convert(model, conversion, size, pre_activation):
    """Convert ``model`` one way; the report."""
    shape = (1, 1) + (size,) * 3
    if conversion == 'cakes':
        return convert_to_cakes(model, op_set=OPS)
    if conversion == 'p2sc2':
        return convert_to_pmscn(model, 2, 2, input_shape=shape)
    return convert_to_cakes_supernet(
        model, OPS, conversion, input_shape=shape, add_norm=pre_activation
    )


@pytest.mark.parametrize(
    'conversion', ['cakes', 'performance', 'cost', 'p2sc2']
)
@pytest.mark.parametrize('network', NETWORKS)
def test_monai_network_converts_and_learns(network, conversion):
    build, size, pre_activation, counts = NETWORKS[network]
    model = build()
    report = convert(model, conversion, size, pre_activation)
    expected = {'cakes': counts[0], 'p2sc2': counts[2]}.get(
        conversion, counts[1]
    )
    assert len(report.layers) == expected, str(report)
    if pre_activation and conversion in ('performance', 'cost'):
        assert any(row.note.endswith('added') for row in report.layers)
    every_parameter_learns(
        model, (1, 1) + (size,) * 3, EXEMPT.get((network, conversion), ())
    )
