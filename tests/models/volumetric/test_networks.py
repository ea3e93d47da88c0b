"""Every op form of every volumetric network: shapes, gradients, what the
op changes, the registry, use from plain MONAI/PyTorch, and bad ``op``."""

import re

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from model_helpers import assert_every_parameter_learns, count_calls
from monai.data import create_test_image_3d
from monai.inferers import sliding_window_inference
from monai.losses import DiceCELoss

from cakes_mm.models import C2FNAS, DenseNet3D, UNet3D
from cakes_mm.models.convert import convert_to_pmscn
from cakes_mm.models.layers import CAKESConv3d, PmSCn
from cakes_mm.models.layers.flat_conv import FlatConv3d
from cakes_mm.models.search import CAKESSearchConv3d, search_layers

from .small import ALL_OPS, SMALL, small

CAKES = dict(type='cakes', op_set=ALL_OPS)
CL = torch.channels_last_3d
COST_SEARCH = dict(
    type='cakes_search', op_set=['kxkxk', 'kxkx1', '1x1xk'], mode='cost'
)


def pmscn(m, n):
    return dict(type='pmscn', m=m, n=n)


#: (network, op) for every op form each network takes.
FORMS = (
    [
        (C2FNAS, op)
        for op in [
            'conv3d',
            'conv2d',
            'p3d',
            CAKES,
            COST_SEARCH,
            pmscn(2, 1),
            pmscn(2, 2),
        ]
    ]
    + [
        (UNet3D, op)
        for op in [
            'conv3d',
            CAKES,
            COST_SEARCH,
            pmscn(1, 1),
            pmscn(2, 1),
            pmscn(2, 2),
            pmscn(2, 3),
        ]
    ]
    + [
        (DenseNet3D, op)
        for op in ['conv3d', CAKES, pmscn(1, 1), pmscn(2, 2), pmscn(2, 3)]
    ]
)
#: Small inputs; C2FNAS's instance norms need two voxels at 1/16 size.
INPUTS = {
    C2FNAS: (2, 1, 32, 16, 16),
    UNet3D: (2, 1, 16, 16, 16),
    DenseNet3D: (2, 1, 16, 16, 16),
}


def form_id(form):
    network, op = form
    kind = (
        op
        if isinstance(op, str)
        else '-'.join(str(v) for k, v in op.items() if k != 'op_set')
    )
    return f'{network.__name__}-{kind}'


@pytest.mark.parametrize('form', FORMS, ids=map(form_id, FORMS))
def test_every_form_runs_and_every_parameter_learns(form):
    network, op = form
    model = small(network, op).train()
    shape = INPUTS[network]
    x = torch.randn(shape)
    assert model(x).shape == (2, 3) + shape[2:]
    assert_every_parameter_learns(model, lambda: model(x).square().mean())


def op_convs(model):
    return [
        (name, m)
        for name, m in model.named_modules()
        if re.search(model.OP_CONVS, name)
    ]


@pytest.mark.parametrize(
    'op, kind',
    [
        ('conv2d', nn.Conv3d),
        ('p3d', nn.Sequential),
        (CAKES, CAKESConv3d),
        (dict(COST_SEARCH, mode='performance'), CAKESSearchConv3d),
        (pmscn(2, 2), PmSCn),
    ],
)
def test_c2fnas_op_changes_the_17_op_convs_only(op, kind):
    reference = small(C2FNAS)
    model = small(C2FNAS, op)
    assert [n for n, _ in op_convs(model)] == [
        n for n, _ in op_convs(reference)
    ]
    assert len(op_convs(model)) == 17
    assert all(isinstance(m, kind) for _, m in op_convs(model))
    # The stems (the first two and the last two 3x3x3 convs) and the
    # 3x3x3 preps of the down cells stay as they are.
    inside = tuple(f'{name}.' for name, _ in op_convs(model))
    cubic = [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv3d)
        and m.kernel_size == (3, 3, 3)
        and not name.startswith(inside)
    ]
    assert cubic == [
        'stem.0.conv',
        'stem.1.conv',
        'cells.E3.prep.conv',
        'cells.E5.prep.conv',
        'cells.E6.prep.conv',
        'end.0.conv',
        'end.2.conv',
    ]
    if model.report is not None:
        assert [row.name.split(' + ')[0] for row in model.report.layers] == [
            n for n, _ in op_convs(reference)
        ]


def test_c2fnas_skeleton_convs_call_onednn_for_one_small_sample(monkeypatch):
    """C2FNAS's 3x3x3 stem, prep and end convs are FlatConv3d (same state
    dict): where PyTorch would run a conv on its unvectorised kernel, as the
    first stem conv's one-channel input at batch 1 makes it, they call
    oneDNN, which keeps ``channels_last_3d``, with nn.Conv3d's output."""
    torch.manual_seed(0)
    model = small(C2FNAS, CAKES).to(memory_format=CL)
    inside = tuple(f'{name}.' for name, _ in op_convs(model))
    skeleton = [
        m
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv3d)
        and m.kernel_size == (3, 3, 3)
        and not name.startswith(inside)
    ]
    assert len(skeleton) == 7
    assert all(type(m) is FlatConv3d for m in skeleton)
    calls = count_calls(monkeypatch, torch, 'mkldnn_convolution')
    stem = model.stem[0].conv
    x = torch.randn(1, 1, 32, 16, 16).contiguous(memory_format=CL)
    y = stem(x)
    assert calls, 'PyTorch ran the conv on its own kernel'
    assert y.is_contiguous(memory_format=CL) and not y.is_contiguous()
    expected = nn.functional.conv3d(x.contiguous(), stem.weight, None, 1, 1)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)


def test_2d_and_p3d_op_convs():
    planar = small(C2FNAS, 'conv2d')
    assert {m.kernel_size for _, m in op_convs(planar)} == {(3, 3, 1)}
    serial = small(C2FNAS, 'p3d')
    assert {
        (m[0].kernel_size, m[1].kernel_size, m[0].out_channels)
        for _, m in op_convs(serial)
    } == {((3, 3, 1), (1, 1, 3), c) for c in (8, 16, 32, 64)}


def test_performance_search_on_c2fnas_trains_its_sampled_paths():
    model = small(C2FNAS, dict(COST_SEARCH, mode='performance')).train()
    assert len(search_layers(model)) == 17
    searched = {
        f'{name}.{p}'
        for name, layer in search_layers(model)
        for p, _ in layer.named_parameters()
    }
    x = torch.randn(INPUTS[C2FNAS])
    assert_every_parameter_learns(
        model, lambda: model(x).square().mean(), skip=searched
    )
    for _, layer in search_layers(model):
        assert layer.search_bn.weight.grad.abs().sum() > 0


def test_pmscn_pairs_unet_levels_and_replaces_densenet_convs_alone():
    unet = small(UNet3D, pmscn(2, 2))
    assert [row.name for row in unet.report.layers] == [
        'encoder.0.conv1 + encoder.0.conv2',
        'encoder.1.conv1 + encoder.1.conv2',
        'encoder.2.conv1 + encoder.2.conv2',
        'decoder.0.convs.conv1 + decoder.0.convs.conv2',
        'decoder.1.convs.conv1 + decoder.1.convs.conv2',
    ]
    assert {
        unit.replaces for _, unit in op_convs(unet) if isinstance(unit, PmSCn)
    } == {2}
    dense = small(DenseNet3D, pmscn(2, 3))
    assert len(dense.report.layers) == 1 + 20
    assert {(unit.n, unit.replaces) for _, unit in op_convs(dense)} == {(3, 1)}


def test_registry_builds_each_network():
    for network in (C2FNAS, UNet3D, DenseNet3D):
        model = MODELS.build(
            dict(
                type=network.__name__,
                spatial_dims=3,
                in_channels=2,
                out_channels=5,
                op=CAKES,
                **SMALL[network],
            )
        )
        assert isinstance(model, network)
        assert model(torch.randn(1, 2, 32, 32, 32)).shape == (1, 5, 32, 32, 32)


def synthetic_volume(size, seed):
    """An image (1, 1, D, H, W) with spheres and their labels 0..2."""
    image, label = create_test_image_3d(
        *size,
        num_objs=4,
        rad_max=8,
        rad_min=4,
        noise_max=0.1,
        num_seg_classes=2,
        channel_dim=0,
        random_state=np.random.RandomState(seed),
    )
    return (
        torch.from_numpy(image)[None],
        torch.from_numpy(label).long()[None],
    )


def test_plain_monai_training_and_sliding_window_inference():
    # No runner, no registry: a MONAI loss, a PyTorch optimizer and
    # MONAI's sliding-window inferer on the network alone.
    model = small(UNet3D, CAKES)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, weight_decay=4e-5
    )
    image, label = synthetic_volume((32, 32, 32), seed=0)
    model.train()
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = loss_fn(model(image), label)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    model.eval()
    with torch.no_grad():
        # One window covering the volume is the network itself.
        torch.testing.assert_close(
            sliding_window_inference(image, (32, 32, 32), 1, model),
            model(image),
        )
        volume, _ = synthetic_volume((48, 40, 36), seed=1)
        logits = sliding_window_inference(
            volume, (32, 32, 32), 2, model, overlap=0.25
        )
    assert logits.shape == (1, 3, 48, 40, 36)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize(
    'network, op, error, message',
    [
        (
            C2FNAS,
            'foo',
            ValueError,
            r"^C2FNAS: op='foo': unknown op; C2FNAS takes dict\(type='conv3d' "
            r"\| 'conv2d' \| 'p3d' \| 'cakes' \| 'cakes_search' \| 'pmscn', "
            r'\.\.\.\)$',
        ),
        (C2FNAS, 3, ValueError, r'^C2FNAS: op=3 must be '),
        (
            C2FNAS,
            dict(type='cakes'),
            ValueError,
            r"^C2FNAS: op=\{'type': 'cakes'\}: type='cakes' needs arch=",
        ),
        (
            C2FNAS,
            dict(type='pmscn', m=2),
            ValueError,
            r"^C2FNAS: op=.*: missing n; type='pmscn' takes m, n$",
        ),
        (
            C2FNAS,
            dict(CAKES, bogus=1),
            ValueError,
            r'^C2FNAS: op=.*: unknown key\(s\) bogus; ',
        ),
        (
            C2FNAS,
            dict(type='cakes', op_set=['3x3x3']),
            ValueError,
            r"^C2FNAS: op=.*: unknown sub-kernel name '3x3x3'",
        ),
        (
            C2FNAS,
            dict(type='cakes', arch=[{'kxkxk': 8}] * 2),
            ValueError,
            r'^C2FNAS: op=.*: arch: the arch has 2 blocks, but this backbone has '
            r'17 \(cells.E1.op.conv, ',
        ),
        (
            C2FNAS,
            dict(type='cakes', arch='no_such_arch.json'),
            FileNotFoundError,
            r'^C2FNAS: op=.*: arch file not found',
        ),
        (
            C2FNAS,
            dict(type='cakes_search', op_set=['kxkxk']),
            ValueError,
            r'^C2FNAS: op=.*: op_set .* at least 2 needed',
        ),
        (
            C2FNAS,
            dict(COST_SEARCH, mode='fast'),
            ValueError,
            r"^C2FNAS: op=.*: search mode must be one of .* got 'fast'",
        ),
        (
            C2FNAS,
            pmscn(4, 1),
            ValueError,
            r'^C2FNAS: op=.*: PmSCn: m \(parallel streams\) must be',
        ),
        (
            UNet3D,
            'conv2d',
            ValueError,
            r"^UNet3D: op='conv2d': unknown op; UNet3D takes "
            r"dict\(type='conv3d' \| 'cakes'",
        ),
        (
            DenseNet3D,
            COST_SEARCH,
            ValueError,
            r'^DenseNet3D: op=.*: unknown op; DenseNet3D takes '
            r"dict\(type='conv3d' \| 'cakes' \| 'pmscn', \.\.\.\)$",
        ),
    ],
)
def test_bad_op_gives_one_line_naming_it(network, op, error, message):
    with pytest.raises(error, match=message) as caught:
        small(network, op)
    assert '\n' not in str(caught.value)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match=r'^UNet3D: spatial_dims=2; only '):
        UNet3D(2, 1, 2)
    with pytest.raises(ValueError, match=r"^UNet3D: upsample_mode='bilinear'"):
        small(UNet3D, upsample_mode='bilinear')
    with pytest.raises(ValueError, match=r'upsample_mode must be '):
        small(C2FNAS, upsample_mode='area')
    model = small(C2FNAS, CAKES)
    with pytest.raises(
        ValueError,
        match=r'^C2FNAS: apply_op converts a '
        r"network built with op=dict\(type='conv3d'\); this one has op=",
    ):
        model.apply_op(CAKES)
    with pytest.raises(
        ValueError,
        match=r"^C2FNAS: op='p3d' is built, "
        r'not converted; pass it to the constructor',
    ):
        small(C2FNAS).apply_op('p3d')
    with pytest.raises(
        ValueError,
        match=r'^PmSCn: replaces must be 1, or '
        r'2 with n >= 2; got replaces=2 with n=1$',
    ):
        convert_to_pmscn(small(UNet3D), 2, 1, replaces=2)
