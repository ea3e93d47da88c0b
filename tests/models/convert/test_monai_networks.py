"""MONAI's 3D networks as they come (default arguments; the required ones as
in MONAI's documentation), on a small input: each converts to fixed CAKES,
to both supernets and to P2SC2 with no exclude list, and learns."""

import pytest

from cakes_mm.analysis.conversion_table import convert, monai_networks

from .networks import every_parameter_learns

pytestmark = pytest.mark.slow  # VNet alone is 45M parameters

NETWORKS = monai_networks()

#: Converted layers by CAKES, by each supernet, and P2SC2 units.
COUNTS = {
    'UNet': (5, 5, 5),
    'SegResNet': (28, 28, 28),
    'DynUNet': (10, 10, 10),
    # Its 2x2x2 down convs are skipped; its last conv has 1 channel, too
    # few for 2 streams.
    'VNet': (16, 16, 10),
    'HighResNet': (19, 19, 10),
    'AttentionUnet': (11, 11, 7),
}

#: Gradients that are zero by construction in one step, by conversion.
EXEMPT = {
    # VNet's last conv has 1 channel: a performance-priority step draws one
    # op for it, so the other two ops get no gradient in that step.
    ('VNet', 'performance'): [r'^out_tr\.conv_block\.conv\.convs\.'],
}


@pytest.mark.parametrize(
    'conversion', ['cakes', 'performance', 'cost', 'p2sc2']
)
@pytest.mark.parametrize('network', COUNTS)
def test_monai_network_converts_and_learns(network, conversion):
    spec = NETWORKS[network]
    model = spec.build()
    report = convert(model, spec, conversion)
    counts = COUNTS[network]
    expected = {'cakes': counts[0], 'p2sc2': counts[2]}.get(
        conversion, counts[1]
    )
    assert len(report.layers) == expected, str(report)
    if spec.pre_activation and conversion in ('performance', 'cost'):
        assert any(row.note.endswith('added') for row in report.layers)
    every_parameter_learns(
        model,
        (1, 1) + (spec.size,) * 3,
        EXEMPT.get((network, conversion), ()),
    )
