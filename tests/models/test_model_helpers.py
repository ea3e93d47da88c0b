"""The shared check that every parameter learns exempts exactly the conv
biases whose gradient is zero by construction."""

import pytest
import torch
import torch.nn as nn
from model_helpers import assert_every_parameter_learns

from cakes_mm.models.layers import CAKESConv3d


class Joined(nn.Module):
    """Two convs joined along the channels, then ``after``."""

    def __init__(self, after):
        super().__init__()
        self.a = nn.Conv3d(2, 3, 3, padding=1)
        self.b = nn.Conv3d(2, 3, 3, padding=1)
        self.after = after

    def forward(self, x):
        return self.after(torch.cat([self.a(x), self.b(x)], dim=1))


def check(model):
    x = torch.randn(2, 2, 4, 4, 4)
    weights = torch.randn(2, 6, 4, 4, 4)
    assert_every_parameter_learns(model, lambda: (model(x) * weights).sum())


@pytest.mark.parametrize(
    'model',
    [
        nn.Sequential(nn.Conv3d(2, 6, 3, padding=1), nn.InstanceNorm3d(6)),
        nn.Sequential(nn.Conv3d(2, 6, 3, padding=1), nn.BatchNorm3d(6)),
        Joined(nn.InstanceNorm3d(6, affine=True)),
        nn.Sequential(
            CAKESConv3d(2, {'1xkxk': 3, 'kx1x1': 3}, bias=True),
            nn.InstanceNorm3d(6),
        ),
    ],
    ids=['instance', 'batch', 'cat', 'cakes'],
)
def test_biases_before_mean_removing_norms_are_exempt(model):
    # As backward rounds them on some machines: exactly zero.
    for conv in model.modules():
        if isinstance(conv, nn.Conv3d):
            conv.bias.register_hook(torch.zeros_like)
    check(model.train())


@pytest.mark.parametrize(
    'after',
    [
        # Running statistics do not remove the batch's mean.
        nn.BatchNorm3d(6).eval(),
        # Nor does a ReLU in between, or a norm over all channels.
        nn.Sequential(nn.ReLU(), nn.InstanceNorm3d(6)),
        nn.GroupNorm(1, 6),
    ],
    ids=['running-stats', 'relu', 'group'],
)
def test_other_biases_are_checked(after):
    model = Joined(after)
    model.a.bias.register_hook(torch.zeros_like)  # a bias that learns nothing
    with pytest.raises(AssertionError, match=r"\['a.bias'\] get no gradient"):
        check(model)


def test_a_parameter_outside_the_loss_fails():
    model = nn.Sequential(nn.Conv3d(2, 6, 1), nn.Conv3d(6, 6, 1))
    with pytest.raises(AssertionError, match=r"'1.weight', '1.bias'"):
        assert_every_parameter_learns(
            model, lambda: model[0](torch.randn(1, 2, 2, 2, 2)).sum()
        )
