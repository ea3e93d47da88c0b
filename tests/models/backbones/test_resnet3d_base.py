"""What both 3D ResNets share (ResNet3dBase), tested once for each:
out_indices, frozen_stages and norm_eval, zero-initialised residuals, and
the checks of depth and out_indices."""

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from cakes_mm.models import CAKESResNet, PmSCnResNet

BACKBONES = {
    'CAKESResNet': (
        CAKESResNet,
        dict(arch='c2d', base_channels=8),
        (1, 3, 4, 64, 64),
        [
            (1, 32, 4, 16, 16),
            (1, 64, 4, 8, 8),
            (1, 128, 4, 4, 4),
            (1, 256, 4, 2, 2),
        ],
    ),
    'PmSCnResNet': (
        PmSCnResNet,
        dict(
            depth=34, pmscn=dict(m=2, n=1), base_channels=4, with_pool1=False
        ),
        (1, 3, 8, 32, 32),
        [
            (1, 4, 8, 16, 16),
            (1, 8, 4, 8, 8),
            (1, 16, 2, 4, 4),
            (1, 32, 1, 2, 2),
        ],
    ),
}


@pytest.mark.parametrize('name', BACKBONES)
def test_out_indices_give_every_stage(name):
    cls, kwargs, shape, expected = BACKBONES[name]
    outs = cls(**kwargs, out_indices=(0, 1, 2, 3))(torch.randn(shape))
    assert [tuple(o.shape) for o in outs] == expected


@pytest.mark.parametrize('name', BACKBONES)
def test_frozen_stages_and_norm_eval(name):
    cls, kwargs, _, _ = BACKBONES[name]
    model = cls(**kwargs, frozen_stages=1, norm_eval=True)
    assert model.train() is model
    for module in (model.conv1, model.bn1, model.layer1):
        assert all(not p.requires_grad for p in module.parameters())
        assert not module.training
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert model.layer2.training
    assert not any(
        m.training for m in model.modules() if isinstance(m, _BatchNorm)
    )
    unfrozen = cls(**kwargs).train()
    assert all(p.requires_grad for p in unfrozen.parameters())
    assert all(m.training for m in unfrozen.modules())


@pytest.mark.parametrize('name', BACKBONES)
def test_zero_init_residual_from_scratch(name):
    cls, kwargs, _, _ = BACKBONES[name]
    model = cls(**kwargs)
    model.init_weights()
    norms = model.residual_norms()
    assert len(norms) == 16 and all((norm.weight == 0).all() for norm in norms)
    assert all(
        (m.weight == 1).all()
        for m in model.modules()
        if isinstance(m, _BatchNorm) and not any(m is norm for norm in norms)
    )
    plain = cls(**kwargs, zero_init_residual=False)
    plain.init_weights()
    assert all((norm.weight == 1).all() for norm in plain.residual_norms())


@pytest.mark.parametrize('name', BACKBONES)
def test_bad_depth_and_out_indices(name):
    cls, kwargs, _, _ = BACKBONES[name]
    with pytest.raises(KeyError, match=f'invalid depth 42 for {name}'):
        cls(**dict(kwargs, depth=42))
    for out_indices in [(4,), (-1,), ()]:
        with pytest.raises(ValueError, match='must lie in 0..3'):
            cls(**kwargs, out_indices=out_indices)
