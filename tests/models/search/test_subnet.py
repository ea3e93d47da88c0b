"""The fixed subnet of a supernet: same function, loadable into the network
that conversion builds from the exported arch, and its cost."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cakes_mm.analysis import model_complexity
from cakes_mm.models import CAKESResNet, CAKESResNetSupernet
from cakes_mm.models.convert import convert_to_cakes, convert_to_cakes_supernet
from cakes_mm.models.layers import CAKESConv3d
from cakes_mm.models.search import (
    CAKESSearchConv3d,
    dump_chosen,
    fix_chosen,
    fixed_subnet,
    search_layers,
    set_derive,
    subnet_complexity,
)

from ..convert.networks import basic_unet, i3d

OPS = ['kxkxk', '1xkxk', 'kx1x1']
UNET_INPUT = (2, 1, 32, 32, 32)


def randomise_alpha(model):
    """Path weights that pick different ops in every layer."""
    with torch.no_grad():
        for _, layer in search_layers(model):
            layer.search_bn.weight.uniform_(-1, 1)
            layer.search_bn.bias.normal_(0, 0.1)
    return model


def outputs(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize('mode', ['performance', 'cost'])
def test_fixed_subnet_of_a_converted_unet_is_the_same_function(mode):
    supernet = basic_unet()
    convert_to_cakes_supernet(supernet, OPS, mode, input_shape=UNET_INPUT)
    randomise_alpha(supernet)
    x = torch.randn(UNET_INPUT)
    fixed = fixed_subnet(supernet)
    assert not search_layers(fixed)
    torch.testing.assert_close(outputs(fixed, x), outputs(supernet, x))
    # It loads into the network converted from the exported arch.
    rebuilt = basic_unet()
    convert_to_cakes(rebuilt, arch=dump_chosen(supernet))
    rebuilt.load_state_dict(fixed.state_dict(), strict=True)
    torch.testing.assert_close(outputs(rebuilt, x), outputs(supernet, x))


def test_fixed_subnet_of_the_resnet_cost_supernet_loads_into_cakesresnet():
    supernet = randomise_alpha(
        CAKESResNetSupernet(
            op_set=OPS, mode='cost', base_channels=8, zero_init_residual=False
        )
    )
    fix_chosen(supernet)
    fixed = fixed_subnet(supernet)
    assert fixed.layer1[0].conv3.in_channels == 8
    rebuilt = CAKESResNet(arch=dump_chosen(supernet), base_channels=8)
    rebuilt.load_state_dict(fixed.state_dict(), strict=True)
    x = torch.randn(2, 3, 4, 32, 32)
    torch.testing.assert_close(outputs(rebuilt, x), outputs(supernet, x))
    # The rebuilt network deploys, its channel order included.
    rebuilt.switch_to_deploy()
    torch.testing.assert_close(
        outputs(rebuilt, x), outputs(supernet, x), rtol=1e-4, atol=1e-5
    )


def test_converted_i3d_search_exports_a_loadable_subnet():
    supernet = i3d()
    convert_to_cakes_supernet(
        supernet, OPS, 'performance', input_shape=(1, 3, 8, 32, 32)
    )
    randomise_alpha(supernet)
    fix_chosen(supernet)
    arch = dump_chosen(supernet)
    rebuilt = i3d()
    convert_to_cakes(rebuilt, arch=arch)
    rebuilt.load_state_dict(fixed_subnet(supernet).state_dict(), strict=True)
    x = torch.randn(2, 3, 8, 32, 32)
    expected = outputs(supernet, x)  # up to 4e7 with this random init
    torch.testing.assert_close(
        outputs(rebuilt, x),
        expected,
        rtol=1e-5,
        atol=1e-5 * expected.abs().max().item(),
    )


def test_topk_choices_that_no_fixed_layer_computes_are_refused():
    supernet = CAKESResNetSupernet(op_set=OPS, base_channels=8, derive='topk')
    layer = supernet.layer1[0].conv2
    with torch.no_grad():  # channel 0 is kept by two ops, channel 1 by none
        layer.search_bn.weight.fill_(0.1)
        layer.search_bn.weight[[0, 8]] = 1.0
        layer.search_bn.weight[1] = 0.0
    with pytest.raises(
        ValueError,
        match=r'^layer1.0.conv2: the chosen paths '
        r'give some channels no op or several',
    ):
        fixed_subnet(supernet)
    counted = subnet_complexity(supernet, (1, 3, 4, 32, 32))
    by_arch = model_complexity(
        CAKESResNet(arch=dump_chosen(supernet), base_channels=8),
        (1, 3, 4, 32, 32),
    )
    assert counted == by_arch
    set_derive(supernet, 'argmax')  # one op per channel: exact again
    assert isinstance(fixed_subnet(supernet).layer1[0].conv2, CAKESConv3d)


def test_searched_instance_norm_normalises_each_pair_on_its_own():
    layer = CAKESSearchConv3d(
        2, 3, OPS[:2], 'cost', norm_cfg=dict(type='IN3d'), cost_output='concat'
    )
    with torch.no_grad():
        layer.search_bn.weight.uniform_(0.5, 2)
        layer.search_bn.bias.normal_()
    x = torch.randn(2, 2, 4, 5, 5)
    y = torch.cat([layer.convs[op](x) for op in OPS[:2]], dim=1)
    expected = F.instance_norm(
        y, weight=layer.search_bn.weight, bias=layer.search_bn.bias
    )
    torch.testing.assert_close(layer(x), expected)
    layer.eval()
    assert layer(x).shape == (2, 6, 4, 5, 5)


def test_channel_order_places_the_groups():
    conv = CAKESConv3d(2, {'1xkxk': 2, 'kx1x1': 1}, channel_order=[2, 0, 1])
    x = torch.randn(1, 2, 3, 4, 4)
    grouped = torch.cat([conv.convs['1xkxk'](x), conv.convs['kx1x1'](x)], 1)
    torch.testing.assert_close(conv(x), grouped[:, [1, 2, 0]])
    plain = CAKESConv3d(2, {'1xkxk': 2, 'kx1x1': 1})
    plain.load_state_dict(conv.state_dict())
    torch.testing.assert_close(plain(x), conv(x))
    with pytest.raises(ValueError, match='permutation of 0..2'):
        CAKESConv3d(2, {'1xkxk': 3}, channel_order=[0, 0, 1])


def test_unchosen_rows_cover_biases():
    model = nn.Sequential(
        nn.Conv3d(1, 4, 3, padding=1, bias=True), nn.BatchNorm3d(4)
    )
    convert_to_cakes_supernet(model, OPS[:2], input_shape=(1, 1, 4, 4, 4))
    layer = model[0]
    assert layer.unchosen_rows() == []
    fix_chosen(model)
    params = [p for p, _ in layer.unchosen_rows()]
    assert any(p is layer.convs['1xkxk'].bias for p in params)
    assert (
        sum(
            len(rows)
            for p, rows in layer.unchosen_rows()
            if p is layer.search_bn.weight
        )
        == 4
    )
