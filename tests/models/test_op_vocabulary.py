"""The op vocabulary (cakes_mm.models.ops): the registry, the old
spellings (same checkpoint keys as before, with a warning), and every
(network x op) built, run forward and backward, with hand-counted
parameters for conv3d, cakes and pmscn."""

import warnings

import pytest
import torch
from mmaction.registry import MODELS

from cakes_mm.deprecation import CAKESDeprecationWarning
from cakes_mm.models import (
    C2FNAS,
    OPS,
    CAKESResNet,
    CAKESResNetSupernet,
    ConvertedNet,
    DenseNet3D,
    PmSCnResNet,
    UNet3D,
    convert_network,
    parse_op,
)

from .op_vocab_cases import (
    C2F,
    CASES,
    DENSE,
    R18,
    R50,
    UNET,
    VIDEO_OPS,
    digest,
    tiny,
)

#: digest() of each case's old spelling, computed by the code before the
#: vocabulary (``python tests/models/op_vocab_cases.py`` on that commit).
KEY_DIGESTS = {
    'cakes_resnet_c2d': (318, '99399bd453ca911e', 95492),
    'cakes_resnet_c3d': (318, '64ee92458f7765cc', 183908),
    'cakes_resnet_p3d': (334, '99a2f98aebc142c7', 110228),
    'cakes_resnet_uniform': (350, 'e06f9c569eb1de10', 120236),
    'cakes_resnet_released': (334, 'f40d64c0ccf3d84f', 20528192),
    'cakes_supernet_cost': (382, 'd5e17fa64582857b', 283092),
    'cakes_supernet_topk': (366, 'e3348109f30c2f5c', 228588),
    'pmscn_resnet_r3d': (120, '1a87638a74bcd491', 131772),
    'pmscn_resnet_p2sc2': (272, 'f6fed93951844b30', 106364),
    'unet3d_trilinear': (40, '41da16806b746c4b', 4538),
    'unet3d_pmscn': (97, '9b3469c96d20f0c7', 3636),
    'densenet3d_3d': (50, '44627789fbdee7d3', 4822),
    'c2fnas_2d': (152, '23ca07369a2f0ee3', 178174),
    'c2fnas_p3d': (169, 'a155ac4024910318', 207358),
    'c2fnas_cakes_search': (288, '392e5d9497f03ff1', 707326),
    'converted_cakes': (16, '829f2557962feabe', 538),
    'converted_search': (30, 'de7bb3ef99928e33', 1918),
    'converted_pmscn': (40, 'fb44864c2ecbaf4e', 666),
}
CAKES = dict(type='cakes', op_set=['kxkxk', '1xkxk'])
SEARCH = dict(
    type='cakes_search', op_set=['kxkxk', 'kxkx1', '1x1xk'], mode='cost'
)
P1SC1 = dict(type='pmscn', m=1, n=1)
P2SC2 = dict(type='pmscn', m=2, n=2)


def test_registry_holds_the_six_ops_one_entry_each():
    assert sorted(OPS) == sorted(
        ['conv3d', 'conv2d', 'p3d', 'cakes', 'cakes_search', 'pmscn']
    )
    assert [name for name in OPS if not OPS.get(name).built] == [
        'cakes',
        'cakes_search',
        'pmscn',
    ]
    assert parse_op('conv3d', 'Net') == dict(type='conv3d')
    assert parse_op(P2SC2, 'Net') == P2SC2


@pytest.mark.parametrize(
    'op, message',
    [
        (dict(type='conv5d'), r'^Net: op=.*: unknown op; Net takes dict\('),
        (dict(type='pmscn', m=2), r'^Net: op=.*: missing n; '),
        (dict(CAKES, kernel=3), r'^Net: op=.*: unknown key\(s\) kernel; '),
        (dict(type='conv3d', k=3), r"type='conv3d' takes no keys$"),
        (dict(type='cakes'), r"^Net: op=.*: type='cakes' needs arch="),
        (dict(type='pmscn', m=0, n=1), r'^Net: op=.*: PmSCn: m '),
        (3, r'^Net: op=3 must be dict\(type='),
    ],
)
def test_bad_op_is_one_line_naming_network_and_key(op, message):
    with pytest.raises(ValueError, match=message) as caught:
        parse_op(op, 'Net')
    assert '\n' not in str(caught.value)


@pytest.mark.parametrize('name', sorted(CASES))
def test_old_and_new_spellings_keep_todays_checkpoint_keys(name):
    old, new = CASES[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with torch.device('meta'):
            old_model = old()
    with warnings.catch_warnings():
        warnings.simplefilter('error', CAKESDeprecationWarning)
        with torch.device('meta'):
            new_model = new()
    assert digest(old_model) == digest(new_model) == KEY_DIGESTS[name]
    assert list(old_model.state_dict()) == list(new_model.state_dict())
    deprecations = [
        w for w in caught if issubclass(w.category, CAKESDeprecationWarning)
    ]
    # A bare 'p3d' is a shorthand, not an old spelling; two cases are
    # spelt the same in both.
    if name not in ('unet3d_pmscn', 'c2fnas_p3d', 'c2fnas_cakes_search'):
        assert deprecations, f'{name}: the old spelling did not warn'


@pytest.mark.parametrize(
    'build, message',
    [
        (lambda: CAKESResNet(arch='c2d', **R50), r"op=dict\(type='conv2d'\)"),
        (  # the old positional arch
            lambda: CAKESResNet(50, 'c3d', base_channels=4),
            r"arch= is deprecated; use op=dict\(type='conv3d'\)",
        ),
        (  # the old positional pmscn
            lambda: PmSCnResNet(18, dict(m=1, n=1), base_channels=4),
            r"pmscn= is deprecated; use op=dict\(type='pmscn', m=1, n=1\)",
        ),
        (
            lambda: CAKESResNet(arch='uniform', op_set=VIDEO_OPS, **R50),
            r"op=dict\(type='cakes', arch='uniform', op_set=",
        ),
        (
            lambda: CAKESResNet(op=CAKES, kernel=3, **R50),
            r'use kernel_size=',
        ),
        (
            lambda: CAKESResNetSupernet(op_set=VIDEO_OPS, mode='cost', **R50),
            r"op=dict\(type='cakes_search', op_set=.*mode='cost'\)",
        ),
        (
            lambda: PmSCnResNet(pmscn=dict(m=2, n=1), **R18),
            r"op=dict\(type='pmscn', m=2, n=1\)",
        ),
        (lambda: UNet3D(3, 1, 2, op='3d', **UNET), r"op=dict\(type='conv3d'"),
        (
            lambda: UNet3D(3, 1, 2, upsample='nearest', **UNET),
            r'upsample= is deprecated; use upsample_mode=',
        ),
        (
            lambda: C2FNAS(3, 1, 2, op='2d', **C2F),
            r"op=dict\(type='conv2d'\)",
        ),
        (
            lambda: MODELS.build(
                dict(type='PmSCnConverted', model=tiny(), m=1, n=1)
            ),
            r"type='ConvertedNet', op=dict\(type='pmscn', m=1, n=1\)",
        ),
        (
            lambda: MODELS.build(
                dict(
                    type='CAKESConverted',
                    model=tiny(),
                    op_set=VIDEO_OPS,
                    search='performance',
                )
            ),
            r"type='ConvertedNet', op=dict\(type='cakes_search'",
        ),
    ],
)
def test_old_keywords_warn_naming_the_new_form(build, message):
    with pytest.warns(CAKESDeprecationWarning, match=message):
        with torch.device('meta'):
            build()


def test_an_old_override_lays_over_a_config_op_of_the_same_type():
    """``--cfg-options model.backbone.arch=...`` on a config with op=."""
    with pytest.warns(CAKESDeprecationWarning):
        model = CAKESResNet(op=CAKES, arch='uniform', **R50)
    assert model.op == dict(CAKES, arch='uniform')
    with pytest.warns(CAKESDeprecationWarning):
        model = CAKESResNet(op=CAKES, arch='c3d', **R50)
    assert model.op == dict(type='conv3d')


# Hand counts: each 3x3x3 conv c_in -> c_out has c_in * c_out * 27 weights.
def p1sc1(c_in, c_out):
    """One P1SC1 unit for one conv: a 3x3 2D conv to M channels (Eq. 5),
    its BN (2 M), a 3-tap 1D conv to c_out."""
    mid = (c_out * c_in * 27) // (c_in * 9 + c_out * 3)
    return c_in * mid * 9 + 2 * mid + mid * c_out * 3


#: UNet3D(features=(4, 8)), 1 -> 2 classes: its 3x3x3 convs, its BNs (2
#: per channel), its 2x2x2 stride-2 deconv (8 -> 4, with bias) and its
#: 1x1x1 head (4 -> 2, with bias).
UNET_CONVS = [(1, 4), (4, 4), (4, 8), (8, 8), (8, 4), (4, 4)]
UNET_REST = 2 * (4 + 4 + 8 + 8 + 4 + 4) + (8 * 4 * 8 + 4) + (4 * 2 + 2)
#: TinyNet: 1 -> 4 -> 6 3x3x3 convs, their BNs, a 1x1x1 head 6 -> 2.
TINY_CONVS = [(1, 4), (4, 6)]
TINY_REST = 2 * (4 + 6) + (6 * 2 + 2)


@pytest.mark.parametrize(
    'op, weights',
    [
        (dict(type='conv3d'), lambda i, o: i * o * 27),
        # Half the output channels kxkxk (27 taps), half 1xkxk (9).
        (CAKES, lambda i, o: i * (o // 2) * 27 + i * (o - o // 2) * 9),
        (P1SC1, p1sc1),
    ],
    ids=['conv3d', 'cakes', 'pmscn'],
)
def test_parameter_count_matches_the_hand_count(op, weights):
    unet = UNet3D(3, 1, 2, op=op, **UNET)
    expected = sum(weights(i, o) for i, o in UNET_CONVS) + UNET_REST
    assert sum(p.numel() for p in unet.parameters()) == expected
    if op['type'] == 'conv3d':
        converted = tiny()
    else:
        converted = ConvertedNet(tiny(), op=dict(op), replaces=1)
    expected = sum(weights(i, o) for i, o in TINY_CONVS) + TINY_REST
    assert sum(p.numel() for p in converted.parameters()) == expected


def video(network, **kwargs):
    return lambda op: network(op=op, **kwargs)


def volume(network, **kwargs):
    return lambda op: network(3, 1, 2, op=op, **kwargs)


VIDEO_CLIP = (2, 3, 4, 16, 16)
#: (network, builder, input shape, ops it takes).
NETWORKS = {
    'CAKESResNet': (
        video(CAKESResNet, depth=50, base_channels=2),
        VIDEO_CLIP,
        [
            dict(type='conv3d'),
            dict(type='conv2d'),
            dict(type='p3d'),
            dict(type='cakes', op_set=VIDEO_OPS),
        ],
    ),
    'CAKESResNetSupernet': (
        video(CAKESResNetSupernet, depth=50, base_channels=2),
        VIDEO_CLIP,
        [dict(type='cakes_search', op_set=VIDEO_OPS, mode='cost')],
    ),
    'PmSCnResNet': (
        video(PmSCnResNet, depth=18, base_channels=4),
        VIDEO_CLIP,
        [dict(type='conv3d'), P1SC1, P2SC2],
    ),
    'UNet3D': (
        volume(UNet3D, **UNET),
        (1, 1, 8, 8, 8),
        [dict(type='conv3d'), CAKES, SEARCH, P1SC1, P2SC2],
    ),
    'DenseNet3D': (
        volume(DenseNet3D, **DENSE),
        (1, 1, 8, 8, 8),
        [dict(type='conv3d'), CAKES, P2SC2],
    ),
    'C2FNAS': (
        volume(C2FNAS, **C2F),
        (2, 1, 32, 16, 16),
        [
            dict(type='conv3d'),
            dict(type='conv2d'),
            dict(type='p3d'),
            CAKES,
            SEARCH,
            P2SC2,
        ],
    ),
    'ConvertedNet(torch)': (
        lambda op: ConvertedNet(tiny(), op=op),
        (1, 1, 8, 8, 8),
        [CAKES, SEARCH, P1SC1, P2SC2],
    ),
}
FORMS = [(name, op) for name, (_, _, ops) in NETWORKS.items() for op in ops]


def form_id(form):
    name, op = form
    keys = '-'.join(f'{v}' for k, v in op.items() if k not in ('op_set',))
    return f'{name}-{keys}'


@pytest.mark.parametrize('form', FORMS, ids=[form_id(f) for f in FORMS])
def test_every_network_takes_every_op_it_lists(form):
    name, op = form
    build, shape, _ = NETWORKS[name]
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('error', CAKESDeprecationWarning)
        model = build(dict(op)).train()
    assert model.op == op
    out = model(torch.randn(shape))
    out = out[-1] if isinstance(out, tuple) else out
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert torch.isfinite(torch.stack([g.abs().sum() for g in grads])).all()


def test_convert_network_is_the_one_conversion_entry_point():
    torch.manual_seed(0)
    model = tiny()
    report = convert_network(model, P2SC2)
    # conv2 changes the width (4 -> 6), so each conv gets a unit alone.
    assert [layer.name for layer in report.layers] == ['conv1', 'conv2']
    with pytest.raises(ValueError, match=r'^TinyNet: op=.*: unknown op; '):
        convert_network(tiny(), dict(type='conv3d'))
