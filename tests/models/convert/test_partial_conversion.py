"""Networks as they come: conversion converts what it can and reports the
rest (or refuses by name under ``strict``), searches on non-affine norms,
adds norms to pre-activation networks, and pairs for PmSCn what pairs."""

import copy

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from monai.networks.nets import SegResNet, UNet

from cakes_mm.models.convert import (
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
    converters,
)
from cakes_mm.models.layers import PmSCn
from cakes_mm.models.search import CAKESSearchConv3d, search_layers

from .networks import I3D, every_parameter_learns, trained

OPS = ['kxkxk', '1xkxk']


def mixed():
    """A convertible conv, a grouped one and one without padding."""
    return nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1),
        nn.Conv3d(4, 4, 3, padding=1, groups=2),
        nn.Conv3d(4, 4, 3),
    ).eval()


def test_fixed_conversion_skips_and_reports_what_it_cannot_keep(
    monkeypatch,
):
    logged = []
    monkeypatch.setattr(
        converters, 'print_log', lambda text, logger: logged.append(text)
    )
    model = mixed()
    original = copy.deepcopy(model)
    report = convert_to_cakes(model, op_set=['kxkxk'])
    assert [row.name for row in report.layers] == ['0']
    assert [row.name for row in report.skipped] == ['1', '2']
    assert report.skipped[0].reason.startswith('a grouped conv (groups=2')
    assert report.skipped[1].reason.startswith(
        'only odd kernels with size-keeping padding'
    )
    assert type(model[1]) is nn.Conv3d and type(model[2]) is nn.Conv3d
    assert logged == [str(report)]
    assert 'skipped 2 layer(s):\n1: a grouped conv' in logged[0]
    x = torch.randn(1, 2, 6, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x))


def test_strict_refuses_the_first_layer_it_cannot_keep():
    with pytest.raises(ValueError, match=r'^1: a grouped conv \(groups=2'):
        convert_to_cakes(mixed(), op_set=['kxkxk'], strict=True)


def test_a_conversion_that_keeps_nothing_is_refused_with_reasons():
    with pytest.raises(
        ValueError,
        match=r'^no selected layer converts to P2SC1 \(2: only odd kernels',
    ):
        convert_to_pmscn(mixed(), 2, 1, include='2')


def monai_unet(norm='instance'):
    """The issue's MONAI UNet, in eval mode."""
    return UNet(
        spatial_dims=3,
        in_channels=1,
        out_channels=3,
        channels=(8, 16, 32),
        strides=(2, 2),
        norm=norm,
    ).eval()


def prefer(model, op):
    """Make every searched layer's derived choice ``op`` everywhere: its
    scales (path weights) 1, as carried over, the other ops' 0.5."""
    for _, layer in search_layers(model):
        with torch.no_grad():
            for o, name in enumerate(layer.op_set):
                rows = slice(o * layer.channels, (o + 1) * layer.channels)
                layer.search_bn.weight[rows] = 1.0 if name == op else 0.5
        assert layer.current_choice[op] == layer.channels


@pytest.mark.parametrize(
    'norm', ['instance', ('batch', {'affine': False})], ids=['IN', 'BN']
)
def test_search_on_a_non_affine_norm_keeps_the_output(norm):
    original = monai_unet(norm)
    for m in original.modules():
        if isinstance(m, nn.BatchNorm3d):  # "trained" statistics
            m.running_mean.normal_(0, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    model = copy.deepcopy(original)
    report = convert_to_cakes_supernet(
        model, OPS, input_shape=(1, 1) + (16,) * 3
    )
    assert len(report.layers) == 3 and not report.skipped
    assert {row.note for row in report.layers} == {
        'non-affine norm made affine (scale 1, shift 0)'
    }
    x = torch.randn(2, 1, 16, 16, 16)
    prefer(model, 'kxkxk')
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x), rtol=0, atol=1e-5)
        prefer(model, '1xkxk')  # the check can fail: another op differs
        assert (model(x) - original(x)).abs().max() > 1e-2


def test_search_adds_norms_to_segresnet():
    # SegResNet is pre-activation (GroupNorm, ReLU, conv): no searched conv
    # has a norm of its own. Its norms are group norms, so the added ones
    # are instance norms (batch-independent, as they are).
    model = SegResNet(spatial_dims=3)
    convs = [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv3d) and m.kernel_size == (3, 3, 3)
    ]
    with pytest.raises(ValueError, match='^no selected layer converts'):
        convert_to_cakes_supernet(copy.deepcopy(model), OPS)
    report = convert_to_cakes_supernet(model, OPS, add_norm=True)
    assert [row.name for row in report.layers] == convs
    assert {row.note for row in report.layers} == {'IN3d added'}
    assert not report.skipped
    for _, layer in search_layers(model):
        assert isinstance(layer.search_bn, nn.InstanceNorm3d)
        assert layer.norm_link is None
    every_parameter_learns(model, (1, 1, 16, 16, 16))


def test_an_added_norm_is_of_the_kind_the_network_uses():
    model = nn.Sequential(
        nn.BatchNorm3d(2),
        nn.ReLU(),
        nn.Conv3d(2, 4, 3, padding=1),
        nn.ReLU(),
    )
    report = convert_to_cakes_supernet(model, OPS, add_norm=True)
    assert report.layers[0].note == 'BN3d added'
    assert isinstance(model[2], CAKESSearchConv3d)
    assert isinstance(model[2].search_bn, nn.BatchNorm3d)
    torch.testing.assert_close(model[2].search_bn.weight, torch.ones(8))


def pair_then(second):
    """A conv, a norm and an activation, then ``second``."""
    return nn.Sequential(
        nn.Conv3d(4, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), second
    )


def test_pmscn_does_not_blame_a_conv_for_its_partners_refusal():
    model = pair_then(nn.Conv3d(4, 4, 3, padding=1, groups=2))
    with pytest.raises(ValueError, match=r'^3: a grouped conv'):
        convert_to_pmscn(copy.deepcopy(model), 2, 2, strict=True)
    report = convert_to_pmscn(model, 2, 2)
    assert [row.name for row in report.skipped] == ['3']
    assert [(row.name, row.new) for row in report.layers] == [('0', 'P2SC1')]
    assert report.layers[0].note == (
        'unpaired: no selected conv follows it through norms and '
        'activations alone (it stops at 3)'
    )
    assert isinstance(model[0], PmSCn) and model[0].n == 1


def test_pmscn_gives_a_pair_that_changes_width_a_unit_each():
    model = pair_then(nn.Conv3d(4, 8, 3, padding=1))
    with pytest.raises(
        ValueError,
        match=r'^0 \+ 3: n >= 2 replaces pairs .* a pair must keep its '
        r'width, and 3 goes from 4 to 8 channels',
    ):
        convert_to_pmscn(copy.deepcopy(model), 2, 2, strict=True)
    report = convert_to_pmscn(model, 2, 2)
    assert [(row.name, row.new) for row in report.layers] == [
        ('0', 'P2SC1'),
        ('3', 'P2SC1'),
    ]
    assert 'a pair must keep its width' in report.layers[0].note
    assert model(torch.randn(1, 4, 4, 4, 4)).shape == (1, 8, 4, 4, 4)


def test_pmscn_n2_on_a_bottleneck_resnet3d_gives_each_conv_a_unit():
    # A bottleneck holds one 3x3x3 conv, between two 1x1x1 convs.
    model = trained(MODELS.build(I3D))
    report = convert_to_pmscn(model, 2, 2, input_shape=(1, 3, 8, 32, 32))
    inflated = sum(sum(stage) for stage in I3D['inflate'])
    assert len(report.layers) == inflated and not report.skipped
    assert {row.new for row in report.layers} == {'P2SC1'}
    assert all('stops at layer' in row.note for row in report.layers)
    every_parameter_learns(model, (1, 3, 8, 32, 32))


def test_pmscn_n2_on_monai_unet_finds_no_pair_across_a_skip():
    # Each level's conv feeds the next level and a skip connection's
    # torch.cat, which the trace sees: no pair, a P2SC1 unit each.
    model = monai_unet()
    report = convert_to_pmscn(model, 2, 2, input_shape=(1, 1, 16, 16, 16))
    assert [row.note for row in report.layers] == [
        'unpaired: no selected conv follows it through norms and '
        f'activations alone (it stops at {where})'
        for where in ['a branch or the network output'] * 2 + ['cat()']
    ]
    every_parameter_learns(model, (1, 1, 16, 16, 16))
