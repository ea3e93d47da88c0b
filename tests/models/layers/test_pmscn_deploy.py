"""The PmSCn deploy form: batch norms inside the streams folded into the 2D
convs, equal to eval mode, in the unit and in every PmSCn network."""

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from model_helpers import randomise_norms

from cakes_mm.models import DenseNet3D, PmSCnResNet, UNet3D
from cakes_mm.models.layers.pmscn import PmSCn, switch_pmscn_to_deploy


def assert_deploy_equals_eval(model, shape, randomise=True):
    """Eval output before and after the switch, within 1e-4."""
    torch.manual_seed(0)
    if randomise:
        randomise_norms(model)
    model.eval()
    x = torch.randn(shape)
    with torch.no_grad():
        before = model(x)
        model.switch_to_deploy()
        after = model(x)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    return model


@pytest.mark.parametrize('m,n', [(1, 1), (2, 2), (3, 1)])
def test_a_unit_folds_every_stream_norm(m, n):
    unit = assert_deploy_equals_eval(
        PmSCn(6, 8, stride=(1, 2, 2), m=m, n=n), (2, 6, 4, 8, 8)
    )
    assert all(
        isinstance(norm, nn.Identity)
        for stream in unit.streams
        for norm in stream.norms
    )
    assert all(
        conv.bias is not None for s in unit.streams for conv in s.convs2d
    )


def test_non_affine_norms_and_conv_biases_fold_too():
    unit = PmSCn(4, 6, m=2, n=1, norm_cfg=dict(type='BN3d', affine=False))
    for stream in unit.streams:
        conv, norm = stream.convs2d[0], stream.norms[0]
        conv.bias = nn.Parameter(torch.randn(conv.out_channels))
        norm.running_mean.normal_(0, 0.1)
        norm.running_var.uniform_(0.5, 1.5)
    assert_deploy_equals_eval(unit, (2, 4, 4, 6, 6), randomise=False)


@pytest.mark.parametrize('m,n', [(2, 2), (3, 1)])
def test_a_norm_after_the_unit_folds_into_its_1d_convs(m, n):
    torch.manual_seed(0)
    unit = PmSCn(6, 8, m=m, n=n, bias=True)
    norm = randomise_norms(nn.BatchNorm3d(8)).eval()
    unit.eval()
    x = torch.randn(2, 6, 4, 8, 8)
    with torch.no_grad():
        for stream in unit.streams:
            stream.conv1d.bias.normal_()
        before = norm(unit(x))
        assert unit.absorb_norm(norm)
        after = unit(x)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    'norm', [nn.BatchNorm3d(5), nn.InstanceNorm3d(8, affine=True)]
)
def test_a_norm_of_another_width_or_on_batch_statistics_is_refused(norm):
    unit = PmSCn(4, 8, m=2, n=1)
    convs = [stream.conv1d for stream in unit.streams]
    assert not unit.absorb_norm(norm)
    assert [stream.conv1d for stream in unit.streams] == convs


def test_norms_on_batch_statistics_stay():
    unit = PmSCn(4, 6, m=2, n=1, norm_cfg=dict(type='IN3d'))
    assert unit.switch_to_deploy() == 0
    assert all(
        isinstance(norm, nn.InstanceNorm3d)
        for stream in unit.streams
        for norm in stream.norms
    )


@pytest.mark.parametrize(
    'build,shape',
    [
        (
            lambda: PmSCnResNet(
                depth=18, pmscn=dict(m=2, n=2), base_channels=4
            ),
            (1, 3, 4, 32, 32),
        ),
        (
            lambda: UNet3D(
                3, 1, 3, op=dict(type='pmscn', m=2, n=2), features=(4, 8)
            ),
            (1, 1, 8, 8, 8),
        ),
        (
            lambda: DenseNet3D(
                3,
                1,
                3,
                op=dict(type='pmscn', m=2, n=1),
                layers_per_block=(1, 1),
                stem_channels=4,
                growth_rate=4,
            ),
            (1, 1, 8, 8, 8),
        ),
        (
            lambda: MODELS.build(
                dict(
                    type='ConvertedNet',
                    model=dict(
                        type='ResNet3d',
                        depth=18,
                        base_channels=4,
                        pretrained=None,
                        pretrained2d=False,
                    ),
                    op=dict(type='pmscn', m=2, n=2),
                )
            ),
            (1, 3, 4, 32, 32),
        ),
    ],
    ids=['resnet34_family', 'unet3d', 'densenet3d', 'converted_i3d'],
)
def test_every_pmscn_network_deploys_to_its_eval_output(build, shape):
    model = assert_deploy_equals_eval(build(), shape)
    units = [m for m in model.modules() if isinstance(m, PmSCn)]
    assert units and not any(
        isinstance(norm, nn.BatchNorm3d)
        for unit in units
        for stream in unit.streams
        for norm in stream.norms
    )


@pytest.mark.parametrize('n', [1, 2])
def test_the_resnet_drops_the_norm_after_each_unit(n):
    model = assert_deploy_equals_eval(
        PmSCnResNet(depth=18, pmscn=dict(m=2, n=n), base_channels=4),
        (1, 3, 4, 32, 32),
    )
    blocks = model.blocks().values()
    assert all(
        isinstance(norm, nn.Identity) for b in blocks for norm in b.norms
    )
    assert all(
        isinstance(b.downsample[1], nn.BatchNorm3d)
        for b in blocks
        if b.downsample is not None
    )


def test_a_deploy_checkpoint_loads_into_deploy_true():
    trained = assert_deploy_equals_eval(
        PmSCnResNet(depth=18, pmscn=dict(m=2, n=1), base_channels=4),
        (1, 3, 4, 32, 32),
    )
    fresh = PmSCnResNet(
        depth=18, pmscn=dict(m=2, n=1), base_channels=4, deploy=True
    ).eval()
    fresh.load_state_dict(trained.state_dict(), strict=True)
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), trained(x))


def test_a_network_without_units_is_refused_by_name():
    with pytest.raises(ValueError, match='PmSCnResNet has no PmSCn unit'):
        switch_pmscn_to_deploy(PmSCnResNet(depth=18, base_channels=4))
