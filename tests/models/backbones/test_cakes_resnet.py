import pytest
import torch
from mmengine.logging import MMLogger
from model_helpers import (
    assert_every_parameter_learns,
    random_resnet2d,
    torchvision_layout,
)

from cakes_mm.models import CAKESResNet
from cakes_mm.models.layers.kernel_shrinking import inflate_kernel
from cakes_mm.models.layers.sub_kernels import SUB_KERNEL_NAMES


@pytest.fixture(scope='module')
def resnet2d():
    torch.manual_seed(1)
    return random_resnet2d()


@pytest.fixture(scope='module')
def checkpoints(resnet2d, tmp_path_factory):
    folder = tmp_path_factory.mktemp('ckpt')
    state = resnet2d.state_dict()
    torchvision = folder / 'resnet50_torchvision.pth'
    # torchvision's ResNet-50 also carries its ImageNet classifier.
    torch.save(
        dict(
            torchvision_layout(state),
            **{
                'fc.weight': torch.randn(1000, 2048),
                'fc.bias': torch.zeros(1000),
            },
        ),
        torchvision,
    )
    ddp = folder / 'resnet50_ddp.pth'
    torch.save({f'module.{k}': v for k, v in state.items()}, ddp)
    mmaction = folder / 'resnet50_mmaction.pth'
    torch.save(
        {
            'state_dict': {f'backbone.{k}': v for k, v in state.items()},
            'meta': {'epoch': 3},
        },
        mmaction,
    )
    return {
        'torchvision': str(torchvision),
        'mmaction': str(mmaction),
        'ddp': str(ddp),
    }


def per_frame(resnet2d, clip):
    """(N, 2048, T, h, w) features of the 2D ResNet run frame by frame."""
    n, c, t, h, w = clip.shape
    with torch.no_grad():
        feats = resnet2d(clip.transpose(1, 2).reshape(n * t, c, h, w))
    return feats.reshape(n, t, *feats.shape[1:]).transpose(1, 2)


def inflated(path, **kwargs):
    backbone = CAKESResNet(pretrained=path, pretrained2d=True, **kwargs)
    backbone.init_weights()
    backbone.eval()
    return backbone


def assert_features_close(ours, reference):
    scale = reference.abs().max()
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize('layout', ['torchvision', 'mmaction', 'ddp'])
def test_inflated_c2d_equals_the_2d_resnet_on_any_clip(
    resnet2d, checkpoints, layout
):
    clip = torch.randn(2, 3, 4, 32, 32)
    backbone = inflated(checkpoints[layout], arch='c2d')
    with torch.no_grad():
        ours = backbone(clip)
    assert ours.shape == (2, 2048, 4, 1, 1)
    assert_features_close(ours, per_frame(resnet2d, clip))


@pytest.mark.parametrize(
    'arch, op_set', [('c3d', None), ('uniform', ['kxkxk', '1xkxk'])]
)
def test_inflated_3d_equals_the_2d_resnet_on_a_static_clip(
    resnet2d, checkpoints, arch, op_set
):
    # 16 stacked 3-tap convs see 16 frames either way: with 40 frames the
    # zero padding in time cannot reach frames 16..23.
    frame = torch.randn(1, 3, 1, 32, 32)
    clip = frame.expand(1, 3, 40, 32, 32).contiguous()
    backbone = inflated(checkpoints['torchvision'], arch=arch, op_set=op_set)
    with torch.no_grad():
        ours = backbone(clip)[:, :, 16:24]
    reference = per_frame(resnet2d, frame)
    assert_features_close(ours, reference.expand_as(ours))


def test_inflation_logs_unused_and_uninitialised_keys(checkpoints, tmp_path):
    log_file = tmp_path / 'inflate.log'
    MMLogger.get_instance('inflation_test', log_file=str(log_file))
    inflated(checkpoints['torchvision'], arch='CAKES12D_C')
    line = [ln for ln in log_file.read_text().splitlines() if 'inflated' in ln]
    assert len(line) == 1
    assert "unused 2D keys: ['fc.bias', 'fc.weight']" in line[0]
    assert '3D entries left at their initialisation: none' in line[0]


def test_inflation_errors(tmp_path, checkpoints):
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        inflated(str(tmp_path / 'nowhere.pth'), arch='c2d')
    resnet18 = tmp_path / 'resnet18.pth'
    torch.save(random_resnet2d(18).state_dict(), resnet18)
    with pytest.raises(
        ValueError,
        match=r'stage blocks \(2, 2, 2, 2\) '
        r'\(basic blocks\) cannot inflate a CAKESResNet-50',
    ):
        inflated(str(resnet18), arch='c2d')
    narrow = CAKESResNet(
        arch='c2d', base_channels=32, pretrained=checkpoints['torchvision']
    )
    with pytest.raises(
        ValueError,
        match=r'layer1.0.conv2.weight: the '
        r'checkpoint gives shape \(64, 64, 3, 3\), the model '
        r'expects \(32, 32, 3, 3\)',
    ):
        narrow.init_weights()


def test_bad_arch_arguments_name_the_block():
    with pytest.raises(
        ValueError, match='has 2 blocks, but this backbone has 16'
    ):
        CAKESResNet(arch=[{'1xkxk': 64}] * 2)
    with pytest.raises(ValueError, match='unknown sub-kernel'):
        CAKESResNet(arch='uniform', op_set=['2d'])
    with pytest.raises(KeyError, match='invalid depth 34 for CAKESResNet'):
        CAKESResNet(depth=34)


@pytest.mark.parametrize(
    'arch, op_set',
    [('uniform', [name]) for name in SUB_KERNEL_NAMES]
    + [
        ('c2d', None),
        ('c3d', None),
        ('p3d', None),
        ('uniform', list(SUB_KERNEL_NAMES)),
    ],
)
def test_forward_backward_every_sub_kernel_and_baseline(arch, op_set):
    backbone = CAKESResNet(
        arch=arch, op_set=op_set, base_channels=8, zero_init_residual=False
    )
    backbone.init_weights()
    clip = torch.randn(2, 3, 4, 32, 32)
    assert backbone(clip).shape == (2, 256, 4, 1, 1)
    assert_every_parameter_learns(backbone, lambda: backbone(clip).sum())


def test_cakes123d_c_takes_the_2d_filters_the_authors_code_assigns(
    resnet2d, checkpoints
):
    # The authors' code hands a 1,2,3D layer's 2D filters to its groups in
    # the order 3D, 2D, 1D, whatever the arch dict lists first; CAKES123D_C
    # lists 1xkxk before kxkxk. Our groups keep the dict's channel order,
    # and bn2 and conv3's inputs follow the filters, so the block still
    # computes what the 2D block did on the channels it inflates.
    authors_order = ['kxkxk', '1xkxk', 'kx1x1']
    state = torchvision_layout(resnet2d.state_dict())
    backbone = inflated(checkpoints['torchvision'], arch='CAKES123D_C')
    for name, choice in zip(backbone.block_names, backbone.arch):
        block = backbone.get_submodule(name)
        weight2d = state[f'{name}.conv2.weight']
        start, filters = 0, {}
        for op in authors_order:
            filters[op] = torch.arange(start, start + choice[op])
            start += choice[op]
        for op, count in choice.items():
            if count:
                torch.testing.assert_close(
                    block.conv2.convs[op].weight,
                    inflate_kernel(weight2d[filters[op]], op),
                )
        source = torch.cat([filters[op] for op in choice])
        torch.testing.assert_close(
            block.bn2.weight, state[f'{name}.bn2.weight'][source]
        )
        torch.testing.assert_close(
            block.bn2.running_var, state[f'{name}.bn2.running_var'][source]
        )
        torch.testing.assert_close(
            block.conv3.weight[:, :, 0, 0, 0],
            state[f'{name}.conv3.weight'][:, source, 0, 0],
        )
    assert list(backbone.arch[0]) == ['1xkxk', 'kxkxk', 'kx1x1']
