"""Exact properties: C2FNAS 'conv2d' is CAKES with only 3x3x1; a trained 3D
UNet converted to one sub-kernel keeps its response on input constant
along the dropped axes; a C2FNAS search's fixed subnet loads into the
network built from its exported arch; DenseNet3D's PmSCn forms for brain
MRI convert with the counts the paper's Eq. 5 gives."""

import json
import re

import pytest
import torch
import torch.nn as nn

from cakes_mm.analysis import model_complexity
from cakes_mm.models import C2FNAS, DenseNet3D, UNet3D
from cakes_mm.models.layers import SUB_KERNEL_NAMES, PmSCn, kernel_size
from cakes_mm.models.search import dump_chosen, fixed_subnet, search_layers

from ..convert.networks import trained
from ..convert.test_converters import (
    assert_close,
    away_from,
    constant_along,
    pmscn_unit_params,
)
from .small import ALL_OPS, small


def outputs(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


def test_c2fnas_2d_is_cakes_with_only_3x3x1(tmp_path):
    planar = trained(small(C2FNAS, 'conv2d'))
    widths = [
        m.out_channels
        for name, m in planar.named_modules()
        if re.search(C2FNAS.OP_CONVS, name)
    ]
    arch = tmp_path / 'arch.json'
    arch.write_text(json.dumps([{'kxkx1': width} for width in widths]))
    cakes = small(C2FNAS, dict(type='cakes', arch=str(arch)))
    # Only the op convs' keys differ: '<op>.conv.weight' there is
    # '<op>.conv.convs.kxkx1.weight' here.
    state = {
        re.sub(
            r'(\.op(_[ab])?\.conv)\.weight$', r'\1.convs.kxkx1.weight', key
        ): value
        for key, value in planar.state_dict().items()
    }
    assert sum(key.endswith('convs.kxkx1.weight') for key in state) == 17
    cakes.load_state_dict(state, strict=True)
    x = torch.randn(2, 1, 32, 32, 32)
    for train in (True, False):
        planar.train(train)
        cakes.train(train)
        with torch.no_grad():
            torch.testing.assert_close(cakes(x), planar(x))


def dropped(op):
    return [axis for axis, size in enumerate(kernel_size(op)) if size == 1]


@pytest.mark.parametrize('op', SUB_KERNEL_NAMES)
def test_converted_unet_keeps_its_response(op):
    # A trained 3D UNet, converted so that every conv is one sub-kernel
    # (its 3D kernel summed over the dropped axes), on input constant along
    # those axes: nothing pads there, so it equals the 3D UNet wherever the
    # 3D UNet's padding does not reach (less than 32 voxels with two
    # poolings). Batch norms use running statistics (instance statistics
    # would see the padding) and the upsampling interpolates (a transposed
    # conv would not keep a constant constant).
    original = trained(small(UNet3D, upsample_mode='trilinear'))
    converted = small(UNet3D, upsample_mode='trilinear')
    converted.load_state_dict(original.state_dict())
    report = converted.apply_op(dict(type='cakes', op_set=[op]))
    assert len(report.layers) == 10
    shape = [1, 1, 16, 16, 16]
    for axis in dropped(op):
        shape[2 + axis] = 96
    x = constant_along(tuple(shape), dropped(op))
    assert_close(
        away_from(outputs(converted, x), dropped(op), 32),
        away_from(outputs(original, x), dropped(op), 32),
    )


def test_c2fnas_search_exports_an_arch_that_rebuilds_it():
    supernet = small(C2FNAS, dict(type='cakes_search', op_set=ALL_OPS))
    with torch.no_grad():
        for _, layer in search_layers(supernet):
            layer.search_bn.weight.uniform_(-1, 1)
            layer.search_bn.bias.normal_(0, 0.1)
    x = torch.randn(2, 1, 32, 32, 32)
    rebuilt = small(C2FNAS, dict(type='cakes', arch=dump_chosen(supernet)))
    rebuilt.load_state_dict(fixed_subnet(supernet).state_dict(), strict=True)
    expected = outputs(supernet, x)
    # Equal up to float rounding, which the instance norms amplify where a
    # channel's variance is small: with one thread the two networks' convs
    # take different PyTorch kernels (3.5e-5 of the output's norm apart).
    torch.testing.assert_close(
        outputs(rebuilt, x),
        expected,
        rtol=1e-4,
        atol=1e-4 * expected.abs().max().item(),
    )


def dense_convs():
    """(in, out) of the default stem and 20 dense convs, hand-derived."""
    growth, width, convs = 28, 32, [(1, 32)]
    for _ in range(5):
        for _ in range(4):
            convs.append((width, growth))
            width += growth
    return convs


@pytest.mark.parametrize('m, n', [(1, 1), (2, 2), (2, 3)])
def test_densenet_pmscn_forms_for_brain_mri(m, n):
    # T1 input, background/CSF/GM/WM; every 3x3x3 conv is replaced alone,
    # its unit's n 2D convs standing for it.
    with torch.device('meta'):
        plain = DenseNet3D(3, 1, 4)
        model = DenseNet3D(3, 1, 4, op=dict(type='pmscn', m=m, n=n))
    units = [module for module in model.modules() if isinstance(module, PmSCn)]
    assert [(u.in_channels, u.out_channels) for u in units] == dense_convs()
    assert {(u.m, u.n, u.replaces) for u in units} == {(m, n, 1)}
    params = sum(p.numel() for p in plain.parameters())
    expected = (
        params
        - sum(27 * i * o for i, o in dense_convs())
        + sum(
            pmscn_unit_params(i, o, m, n, 1, False) for i, o in dense_convs()
        )
    )
    assert sum(p.numel() for p in model.parameters()) == expected
    shape = (1, 1, 64, 64, 64)
    assert model_complexity(model, shape).params == expected
    with torch.no_grad():
        out = model(torch.empty(shape, device='meta'))
    assert out.shape == (1, 4, 64, 64, 64)
    assert not any(
        isinstance(m, nn.Conv3d) and m.kernel_size == (3, 3, 3)
        for m in model.modules()
    )
