import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from model_helpers import (
    assert_every_parameter_learns,
    random_resnet2d,
    torchvision_layout,
)

from cakes_mm.models import PmSCn, PmSCnResNet
from cakes_mm.models.backbones.resnet2d_inflation import inflate_like

VARIANTS = {
    'r3d': None,
    'p1sc1': dict(m=1, n=1),
    'p2sc1': dict(m=2, n=1),
    'p2sc2': dict(m=2, n=2),
    'p2sc3': dict(m=2, n=3),
    'p3sc2': dict(m=3, n=2),
}
FAST = dict(depth=34, base_channels=4, with_pool1=False)


def meta_backbone(**kwargs):
    """A full-size backbone on the meta device: shapes only, no memory."""
    with torch.device('meta'):
        return PmSCnResNet(**kwargs)


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_forward_backward_every_parameter_gets_a_gradient(name):
    # PyTorch's default init: zero-initialised residual norms would block
    # the gradient of the convs before them.
    model = PmSCnResNet(pmscn=VARIANTS[name], **FAST).train()
    clip = torch.randn(2, 3, 8, 32, 32)
    assert model(clip).shape == (2, 32, 1, 2, 2)
    weights = torch.randn(2, 32, 1, 2, 2)
    assert_every_parameter_learns(model, lambda: (model(clip) * weights).sum())


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_full_size_output_shape_at_64_frames_of_64x64(name):
    model = meta_backbone(pmscn=VARIANTS[name], with_pool1=False)
    out = model(torch.empty(1, 3, 64, 64, 64, device='meta'))
    assert out.shape == (1, 512, 8, 4, 4)


def test_mmaction_recipe_with_max_pool_ends_at_2x2():
    model = meta_backbone(pmscn=dict(m=2, n=2))
    out = model(torch.empty(1, 3, 64, 64, 64, device='meta'))
    assert out.shape == (1, 512, 8, 2, 2)


def test_real_forward_at_64_frames_of_64x64():
    model = PmSCnResNet(
        pmscn=dict(m=2, n=2), base_channels=4, with_pool1=False
    )
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64, 64))
    assert out.shape == (1, 32, 8, 4, 4)
    assert torch.isfinite(out).all()


def test_block_structure_per_variant():
    r3d = PmSCnResNet(**FAST).layer2[0]
    assert [c.kernel_size for c in r3d.convs] == [(3, 3, 3), (3, 3, 3)]
    assert r3d.convs[0].stride == (2, 2, 2) and r3d.convs[1].stride == (
        1,
        1,
        1,
    )
    per_conv = PmSCnResNet(pmscn=dict(m=2, n=1), **FAST).layer2[0]
    assert [type(c) for c in per_conv.convs] == [PmSCn, PmSCn]
    assert [(c.n, c.replaces) for c in per_conv.convs] == [(1, 1), (1, 1)]
    assert per_conv.convs[0].stride == (2, 2, 2)
    assert per_conv.convs[1].stride == (1, 1, 1)
    for n in (2, 3):
        joint = PmSCnResNet(pmscn=dict(m=2, n=n), **FAST).layer2[0]
        assert len(joint.convs) == len(joint.norms) == 1
        assert (
            joint.convs[0].m,
            joint.convs[0].n,
            joint.convs[0].replaces,
        ) == (2, n, 2)
        assert joint.downsample[0].stride == (2, 2, 2)


def test_depth_18_from_the_arch_table():
    model = PmSCnResNet(depth=18, pmscn=dict(m=1, n=1), base_channels=4)
    assert [len(getattr(model, f'layer{i}')) for i in range(1, 5)] == [
        2,
        2,
        2,
        2,
    ]
    assert PmSCnResNet.arch_settings[34][1] == (3, 4, 6, 3)


def test_registered_and_built_from_a_dict():
    model = MODELS.build(
        dict(type='PmSCnResNet', op=dict(type='pmscn', m=2, n=2), **FAST)
    )
    assert isinstance(model, PmSCnResNet) and model.pmscn == dict(m=2, n=2)
    assert model.feat_dim == 32


@pytest.mark.parametrize(
    'kwargs, error, message',
    [
        (dict(depth=50), KeyError, 'invalid depth 50'),
        (
            dict(op=dict(type='pmscn', m=4, n=1)),
            ValueError,
            'm \\(parallel streams\\)',
        ),
        (
            dict(op=dict(type='pmscn', m=1, n=0)),
            ValueError,
            'n \\(2D convs per stream\\)',
        ),
        (
            dict(op=dict(type='pmscn', m=1)),
            ValueError,
            "^PmSCnResNet: op=.*: missing n; type='pmscn' takes m, n$",
        ),
        (
            dict(op=dict(type='pmscn', m=1, n=1, k=3)),
            ValueError,
            '^PmSCnResNet: op=.*: unknown key\\(s\\) k;',
        ),
        (
            dict(op=dict(type='cakes', op_set=['kxkxk'])),
            ValueError,
            '^PmSCnResNet: op=.*: unknown op; PmSCnResNet takes dict\\(type='
            "'conv3d' \\| 'pmscn', \\.\\.\\.\\)$",
        ),
        (dict(pmscn=dict(m=1)), ValueError, 'missing n'),
        (dict(pmscn=(1, 1)), ValueError, 'pmscn must be None'),
        (dict(spatial_strides=(1, 2, 2)), ValueError, 'one stride per stage'),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        PmSCnResNet(**dict(FAST, **kwargs))


# The test's own map from mmaction2 ResNet keys to torchvision keys.
@pytest.fixture(scope='module')
def resnet18_2d(tmp_path_factory):
    """A random 2D ResNet-18 saved in torchvision and mmaction2 layouts."""
    torch.manual_seed(1)
    resnet = random_resnet2d(18)
    state = resnet.state_dict()
    torchvision = torchvision_layout(state)
    torchvision.update(
        {'fc.weight': torch.randn(1000, 512), 'fc.bias': torch.zeros(1000)}
    )
    folder = tmp_path_factory.mktemp('resnet18')
    torch.save(torchvision, folder / 'torchvision.pth')
    torch.save(
        {'state_dict': {f'backbone.{k}': v for k, v in state.items()}},
        folder / 'mmaction.pth',
    )
    return torchvision, folder


@pytest.mark.parametrize('layout', ['torchvision', 'mmaction'])
def test_inflate_3d_baseline_from_2d(resnet18_2d, layout):
    state2d, folder = resnet18_2d
    model = PmSCnResNet(depth=18, pretrained=str(folder / f'{layout}.pth'))
    model.init_weights()
    own = model.state_dict()
    torch.testing.assert_close(
        own['conv1.weight'],
        inflate_like(state2d['conv1.weight'], (64, 3, 3, 7, 7)),
    )
    torch.testing.assert_close(
        own['layer3.1.convs.1.weight'],
        inflate_like(state2d['layer3.1.conv2.weight'], (256, 256, 3, 3, 3)),
    )
    torch.testing.assert_close(
        own['layer2.0.norms.0.running_var'],
        state2d['layer2.0.bn1.running_var'],
    )
    torch.testing.assert_close(
        own['layer2.0.downsample.0.weight'][:, :, 0],
        state2d['layer2.0.downsample.0.weight'],
    )
    # A static clip sees the 2D stem's response wherever the zero padding
    # in time does not reach: the middle frame.
    clip = torch.randn(1, 3, 1, 32, 32)
    stem2d = nn.functional.conv2d(
        clip[:, :, 0], state2d['conv1.weight'], stride=2, padding=3
    )
    torch.testing.assert_close(
        model.conv1(clip.repeat(1, 1, 3, 1, 1))[:, :, 1],
        stem2d,
        rtol=1e-4,
        atol=1e-4,
    )


def test_inflate_pmscn_from_2d_logs_what_was_initialised(resnet18_2d):
    state2d, folder = resnet18_2d
    model = PmSCnResNet(
        depth=18,
        pmscn=dict(m=2, n=2),
        pretrained=str(folder / 'torchvision.pth'),
    )
    logger = MMLogger.get_instance('pmscn_inflation_test')
    lines = []
    logger.info = lines.append
    model.inflate_weights(logger)
    own = model.state_dict()
    # One unit per block: its norm is the block output's, bn2.
    torch.testing.assert_close(
        own['layer1.1.norms.0.weight'], state2d['layer1.1.bn2.weight']
    )
    # Stream 1's spatial conv takes the leading filters of conv1: 64 -> 64
    # gives a width of 72 per stream, so 64 of its 72 filters are filled.
    spatial = own['layer1.0.convs.0.streams.0.convs2d.0.weight']
    torch.testing.assert_close(
        spatial[:64, :, 0], state2d['layer1.0.conv1.weight']
    )
    log = '\n'.join(lines)
    assert (
        'layer1.0.convs.0.streams.0.convs2d.0.weight (64 of 72 filters)' in log
    )
    assert (
        'layer1.0.convs.0.streams.1.convs2d.0.weight'
        in log.split('left at their initialisation')[1]
    )
    unused = log.split('unused 2D keys: ')[1]
    assert "'layer1.0.bn1.weight'" in unused and "'fc.weight'" in unused
    assert "'layer1.0.conv1.weight'" not in unused
    assert "'conv1.weight'" not in unused


def test_inflate_refuses_a_resnet_of_another_depth(tmp_path):
    path = tmp_path / 'r50.pth'
    torch.save({'layer1.0.conv3.weight': torch.zeros(4, 4, 1, 1)}, path)
    model = PmSCnResNet(pretrained=str(path), **FAST)
    with pytest.raises(ValueError, match='cannot inflate a PmSCnResNet-34'):
        model.init_weights()


def test_pretrained2d_false_loads_a_3d_checkpoint(tmp_path):
    source = PmSCnResNet(pmscn=dict(m=3, n=1), **FAST)
    path = tmp_path / 'pmscn.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    model = PmSCnResNet(
        pmscn=dict(m=3, n=1), pretrained=str(path), pretrained2d=False, **FAST
    )
    model.init_weights()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
