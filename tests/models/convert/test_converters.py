"""Conversion of existing 3D networks: I3D (mmaction2), BasicUNet (MONAI)
and our C3D baseline, to fixed CAKES, to a CAKES supernet and to PmSCn."""

import itertools

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from model_helpers import assert_every_parameter_learns

from cakes_mm.models.convert import (
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
    select_convs,
)
from cakes_mm.models.layers import (
    SUB_KERNEL_NAMES,
    CAKESConv3d,
    PmSCn,
    eq5_mid_channels,
    kernel_size,
    kernel_volume,
    uniform_split,
)
from cakes_mm.models.search import CAKESSearchConv3d, search_layers

from .networks import I3D, basic_unet, c3d, i3d, trained

NETWORKS = {
    'i3d': (i3d, (1, 3, 8, 32, 32)),
    'basic_unet': (basic_unet, (1, 1, 32, 32, 32)),
    'c3d': (c3d, (1, 3, 4, 32, 32)),
}
OPS = ['1xkxk', 'kx1x1', 'kxkxk']


def params(model):
    return sum(p.numel() for p in model.parameters())


def cubic_convs(model):
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv3d)
        and len(set(m.kernel_size)) == 1
        and m.kernel_size[0] == 3
    ]


def fixed_params(conv, choice):
    """A CAKES conv's parameters, counted from the arch entry."""
    weights = sum(
        n * conv.in_channels * kernel_volume(op) for op, n in choice.items()
    )
    return weights + (conv.out_channels if conv.bias is not None else 0)


def every_parameter_learns(model, shape):
    model.train()
    x = torch.randn(2, *shape[1:])
    assert_every_parameter_learns(model, lambda: model(x).square().mean())


@pytest.mark.parametrize('network', NETWORKS)
def test_fixed_conversion_counts_and_learns(network):
    build, shape = NETWORKS[network]
    model = build()
    before = params(model)
    convs = cubic_convs(model)
    expected = (
        before
        - sum(params(c) for _, c in convs)
        + sum(
            fixed_params(c, uniform_split(c.out_channels, OPS))
            for _, c in convs
        )
    )
    report = convert_to_cakes(model, op_set=OPS)
    assert params(model) == expected == report.params_after
    assert [row.name for row in report.layers] == [n for n, _ in convs]
    assert (
        sum(r.new_params - r.old_params for r in report.layers)
        == expected - before
    )
    every_parameter_learns(model, shape)


@pytest.mark.parametrize('network', NETWORKS)
def test_supernet_conversion_counts_and_learns(network):
    build, shape = NETWORKS[network]
    model = build()
    before = params(model)
    convs = cubic_convs(model)
    report = convert_to_cakes_supernet(model, OPS, 'cost', input_shape=shape)
    # Each op holds every filter (and bias); the norm after the conv is
    # replaced by one affine norm per (op, channel).
    expected = before + sum(
        c.out_channels
        * c.in_channels
        * (sum(kernel_volume(op) for op in OPS) - 27)
        + (len(OPS) - 1)
        * ((c.out_channels if c.bias is not None else 0) + 2 * c.out_channels)
        for _, c in convs
    )
    assert params(model) == expected == report.params_after
    assert len(search_layers(model)) == len(convs)
    every_parameter_learns(model, shape)


def pmscn_unit_params(c_in, c_out, m, n, replaces, bias):
    """A PmSCn unit's parameters from the paper's Eq. 5 and our reading."""
    mids = [
        eq5_mid_channels(c_in if i == 0 else c_out, c_out)
        for i in range(replaces)
    ]
    widths = [
        max(1, mids[j * replaces // n] * replaces // (n * m)) for j in range(n)
    ]
    outs = list(
        uniform_split(c_out, ['s'] + [f's{i}' for i in range(1, m)]).values()
    )
    total = 0
    for out in outs:
        channels = c_in
        for width in widths:
            total += channels * width * 9 + 2 * width
            channels = width
        total += channels * out * 3 + (out if bias else 0)
    return total


@pytest.mark.parametrize('m, n', [(1, 1), (2, 2)])
def test_pmscn_conversion_of_basic_unet(m, n):
    model = basic_unet()
    before = params(model)
    convs = cubic_convs(model)
    report = convert_to_pmscn(model, m, n, input_shape=(1, 1, 32, 32, 32))
    if n == 1:
        removed = sum(params(c) for _, c in convs)
        added = sum(
            pmscn_unit_params(c.in_channels, c.out_channels, m, 1, 1, True)
            for _, c in convs
        )
        assert len(report.layers) == len(convs)
    else:  # the two convs of each TwoConv, and the norm between them
        pairs = list(zip(convs[::2], convs[1::2]))
        removed = sum(
            params(a) + params(b) + 2 * a.out_channels
            for (_, a), (_, b) in pairs
        )
        added = sum(
            pmscn_unit_params(a.in_channels, b.out_channels, m, n, 2, True)
            for (_, a), (_, b) in pairs
        )
        assert [row.name for row in report.layers] == [
            f'{a} + {b}' for (a, _), (b, _) in pairs
        ]
    assert params(model) == before - removed + added
    assert sum(isinstance(x, PmSCn) for x in model.modules()) == len(
        report.layers
    )
    every_parameter_learns(model, (1, 1, 32, 32, 32))


def test_pmscn_pairs_the_convs_of_resnet3d_basic_blocks():
    model = trained(MODELS.build(dict(I3D, depth=18, inflate=(1, 1, 1, 1))))
    report = convert_to_pmscn(model, 2, 2, input_shape=(1, 3, 8, 32, 32))
    assert [row.name for row in report.layers][:2] == [
        'layer1.0.conv1.conv + layer1.0.conv2.conv',
        'layer1.1.conv1.conv + layer1.1.conv2.conv',
    ]
    assert len(report.layers) == 8
    assert isinstance(model.layer1[0].conv1.bn, nn.Identity)
    every_parameter_learns(model, (1, 3, 8, 32, 32))


def constant_along(shape, axes):
    """Random values, constant along the given spatial axes (of T/D, H, W)."""
    size = list(shape)
    for axis in axes:
        size[2 + axis] = 1
    return torch.randn(size).expand(shape).contiguous()


def dropped(op):
    return [axis for axis, s in enumerate(kernel_size(op)) if s == 1]


def away_from(tensor, axes, margin):
    """The part of a (N, C, D, H, W) tensor ``margin`` voxels away from both
    ends of each axis in ``axes``."""
    index = [slice(None)] * 5
    for axis in axes:
        index[2 + axis] = slice(margin, tensor.shape[2 + axis] - margin)
    return tensor[tuple(index)]


def assert_close(ours, reference):
    torch.testing.assert_close(
        ours, reference, rtol=1e-4, atol=1e-4 * reference.abs().max()
    )


def test_converted_i3d_keeps_its_response_to_a_static_clip():
    # 1xkxk: the 3x3x3 kernels summed over time. On a clip constant in
    # time, frames the temporal padding cannot reach (a 5-frame stem and 9
    # inflated blocks: 11 frames each side) are unchanged.
    original = i3d()
    converted = i3d()
    converted.load_state_dict(original.state_dict())
    convert_to_cakes(converted, op_set=['1xkxk'])
    clip = constant_along((1, 3, 32, 32, 32), [0])
    with torch.no_grad():
        assert_close(
            away_from(converted(clip), [0], 12),
            away_from(original(clip), [0], 12),
        )


def test_every_group_of_a_converted_i3d_layer_keeps_its_response():
    # Each group of a ['1xkxk', 'kx1x1'] layer keeps the 3D conv's response
    # on input constant along the axes its sub-kernel dropped (for kx1x1
    # that is H and W, so a clip constant in time alone is not enough).
    original = i3d()
    converted = i3d()
    converted.load_state_dict(original.state_dict())
    convert_to_cakes(converted, op_set=['1xkxk', 'kx1x1'])
    layers = dict(converted.named_modules())
    for name, conv in cubic_convs(original):
        new = layers[name]
        start = 0
        for op, count in new.choice.items():
            x = constant_along((1, conv.in_channels, 6, 6, 6), dropped(op))
            with torch.no_grad():
                ours = new(x)[:, start : start + count]
                theirs = conv(x)[:, start : start + count]
            assert_close(
                away_from(ours, dropped(op), 1),
                away_from(theirs, dropped(op), 1),
            )
            start += count


@pytest.mark.parametrize('op', SUB_KERNEL_NAMES)
def test_converted_basic_unet_keeps_its_response(op):
    # With every conv shrunk to one sub-kernel, nothing pads along its
    # dropped axes, so on input constant along them the converted UNet
    # equals the original wherever the original's padding does not reach
    # (interpolating upsampling keeps a constant constant, a transposed
    # conv would not; and norms with running statistics act voxel by voxel,
    # where an instance norm's statistics would see the padding).
    original = basic_unet(upsample='nontrainable', norm='batch')
    converted = basic_unet(upsample='nontrainable', norm='batch')
    converted.load_state_dict(original.state_dict())
    convert_to_cakes(converted, op_set=[op])
    shape = [1, 1, 32, 32, 32]
    for axis in dropped(op):
        shape[2 + axis] = 240
    x = constant_along(tuple(shape), dropped(op))
    with torch.no_grad():
        assert_close(
            away_from(converted(x), dropped(op), 110),
            away_from(original(x), dropped(op), 110),
        )


def test_conversion_keeps_stride_dilation_bias_and_padding_mode():
    model = nn.Sequential(
        nn.Conv3d(
            2,
            6,
            3,
            stride=(1, 2, 2),
            padding=2,
            dilation=2,
            bias=True,
            padding_mode='replicate',
        )
    )
    original = nn.Sequential(*[m for m in model])
    x = torch.randn(1, 2, 7, 9, 9)
    convert_to_cakes(model, op_set=['kxkxk'])
    new = model[0]
    assert isinstance(new, CAKESConv3d)
    conv = new.convs['kxkxk']
    assert (conv.stride, conv.dilation, conv.padding_mode) == (
        (1, 2, 2),
        (2, 2, 2),
        'replicate',
    )
    torch.testing.assert_close(model(x), original(x))


def test_fixed_conversion_from_an_arch_list():
    model = c3d()
    convs = cubic_convs(model)
    arch = [{'kx1x1': 2, '1xkxk': c.out_channels - 2} for _, c in convs]
    convert_to_cakes(model, arch=arch)
    layers = dict(model.named_modules())
    assert [layers[name].choice for name, _ in convs] == arch


def test_supernet_norm_is_found_by_data_flow_not_module_order():
    class PreActivation(nn.Module):
        """BN-ReLU-conv: in module order, the norm after ``conv`` is the
        next block's, which is not applied to the conv's output."""

        def __init__(self):
            super().__init__()
            self.norm_a = nn.BatchNorm3d(3)
            self.conv = nn.Conv3d(3, 3, 3, padding=1)
            self.norm_b = nn.BatchNorm3d(6)
            self.out = nn.Conv3d(6, 3, 3, padding=1)
            self.norm_c = nn.BatchNorm3d(3)

        def forward(self, x):
            y = self.conv(self.norm_a(x))
            return self.norm_c(self.out(self.norm_b(torch.cat([x, y], 1))))

    model = PreActivation()
    with pytest.raises(
        ValueError,
        match=r'^conv: search needs a batch or '
        r'instance norm .* after this layer comes no module',
    ):
        convert_to_cakes_supernet(model, OPS, input_shape=(1, 3, 4, 4, 4))
    report = convert_to_cakes_supernet(
        model, OPS, include='out', input_shape=(1, 3, 4, 4, 4)
    )
    assert [row.name for row in report.layers] == ['out + norm_c']
    assert isinstance(model.norm_c, nn.Identity)


def test_bad_input_names_the_layer_or_argument():
    with pytest.raises(
        ValueError,
        match=r"include=\['nothing'\] exclude="
        r'None select no k x k x k Conv3d layer of '
        r'BasicUNet; its candidates are: conv_0.conv_0.conv',
    ):
        convert_to_cakes(basic_unet(), op_set=OPS, include='nothing')
    with pytest.raises(
        ValueError, match='the arch has 2 blocks, but this backbone has 18'
    ):
        convert_to_cakes(basic_unet(), arch=[{'kxkxk': 4}] * 2)
    with pytest.raises(
        ValueError,
        match=r'block 0 \(conv_0.conv_0.conv, '
        r'width 4\): counts .* sum to 3, expected',
    ):
        convert_to_cakes(basic_unet(), arch=[{'kxkxk': 3}] * 18)
    grouped = nn.Sequential(nn.Conv3d(4, 4, 3, padding=1, groups=2))
    with pytest.raises(ValueError, match=r'^0: a grouped conv \(groups=2'):
        convert_to_cakes(grouped, op_set=OPS)
    depthwise = nn.Sequential(nn.Conv3d(4, 4, 3, padding=1, groups=4))
    with pytest.raises(ValueError, match=r'^0: a depthwise conv'):
        convert_to_cakes_supernet(depthwise, OPS)
    no_norm = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.ReLU())
    with pytest.raises(
        ValueError,
        match=r'^0: search needs a batch or '
        r'instance norm .* comes 1 \(ReLU\)',
    ):
        convert_to_cakes_supernet(no_norm, OPS)
    valid = nn.Sequential(nn.Conv3d(1, 4, 3))
    with pytest.raises(
        ValueError,
        match=r'^0: only odd kernels with '
        r'size-keeping padding',
    ):
        convert_to_cakes(valid, op_set=OPS)
    with pytest.raises(ValueError, match='needs an arch or an op_set'):
        convert_to_cakes(basic_unet())
    with pytest.raises(
        ValueError,
        match=r'^layer1.0.conv2.conv: n >= 2 '
        r'replaces pairs .* \(it stops at layer1.0.conv3.conv',
    ):
        convert_to_pmscn(i3d(), 2, 2, input_shape=(1, 3, 8, 32, 32))


def test_selection_patterns():
    names = [
        n
        for n, _ in select_convs(
            basic_unet(), include=[r'^down_1', r'^down_2'], exclude=r'conv_1'
        )
    ]
    assert names == ['down_1.convs.conv_0.conv', 'down_2.convs.conv_0.conv']
    assert len(select_convs(c3d())) == 16


def test_supernet_conversion_carries_weights_and_norms():
    original = basic_unet()
    model = basic_unet()
    model.load_state_dict(original.state_dict())
    convert_to_cakes_supernet(model, OPS, input_shape=(1, 1, 32, 32, 32))
    old = dict(original.named_modules())
    for name, layer in search_layers(model):
        assert isinstance(layer, CAKESSearchConv3d)
        conv = old[name]
        norm = old[name[: -len('conv')] + 'adn.N']
        for op in OPS:
            dims = [2 + a for a in dropped(op)]
            expected = (
                conv.weight.sum(dim=dims, keepdim=True)
                if dims
                else conv.weight
            )
            torch.testing.assert_close(layer.convs[op].weight, expected)
            torch.testing.assert_close(layer.convs[op].bias, conv.bias)
        torch.testing.assert_close(
            layer.search_bn.weight, norm.weight.repeat(len(OPS))
        )
        assert isinstance(
            layer.search_bn, nn.modules.instancenorm._InstanceNorm
        )


def test_every_pair_of_ops_and_modes_runs_on_a_converted_unet():
    for ops, mode in itertools.product(
        [OPS[:2], SUB_KERNEL_NAMES], ['performance', 'cost']
    ):
        model = basic_unet()
        convert_to_cakes_supernet(
            model, ops, mode, input_shape=(1, 1, 32, 32, 32)
        )
        model.train()
        assert model(torch.randn(2, 1, 32, 32, 32)).shape == (2, 2, 32, 32, 32)
