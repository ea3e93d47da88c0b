"""cakes_mm.deployment.traceable_shifts: the deploy form's shifted adds,
out of place, give the same network."""

import pytest
import torch
from model_helpers import randomise_norms

from cakes_mm.deployment.traceable_shifts import out_of_place_shifts
from cakes_mm.models import CAKESResNet
from cakes_mm.models.backbones.cakes_resnet_deploy import (
    ShapeGroup,
    shift_in_time,
)
from cakes_mm.models.layers.sub_kernels import SUB_KERNEL_NAMES


@pytest.mark.parametrize('offset', [-4, -2, -1, 1, 2, 4])
def test_shift_in_time_moves_frames_with_zeros_outside(offset):
    frames = torch.randn(2, 4, 3, 5, 5)
    moved = shift_in_time(frames, offset)
    assert moved.shape == frames.shape
    for t in range(4):
        source = t + offset
        want = (
            frames[:, source]
            if 0 <= source < 4
            else torch.zeros_like(frames[:, 0])
        )
        assert torch.equal(moved[:, t], want), (offset, t)


@pytest.mark.parametrize(
    'op_set', [list(SUB_KERNEL_NAMES), ['kxkxk', '1xkxk'], ['1xkxk', 'kx1x1']]
)
def test_out_of_place_forward_is_the_same_network(op_set):
    backbone = CAKESResNet(
        arch='uniform',
        op_set=op_set,
        base_channels=8,
        zero_init_residual=False,
    )
    backbone.init_weights()
    randomise_norms(backbone).eval()
    backbone.switch_to_deploy()
    groups = [m for m in backbone.modules() if isinstance(m, ShapeGroup)]
    assert any(group.offsets for group in groups)
    clip = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        in_place = backbone(clip)
        with out_of_place_shifts(backbone):
            assert all(group.out_of_place for group in groups)
            out_of_place = backbone(clip)
    assert not any(group.out_of_place for group in groups)  # restored
    torch.testing.assert_close(
        out_of_place, in_place, rtol=1e-5, atol=1e-5 * in_place.abs().max()
    )
