"""The deploy form's shifted temporal adds: out of place (as a trace and a
compile run them) they give the same network as in place."""

import pytest
import torch
from model_helpers import randomise_norms

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


def deploy_backbone(op_set):
    backbone = CAKESResNet(
        arch='uniform',
        op_set=op_set,
        base_channels=8,
        zero_init_residual=False,
    )
    backbone.init_weights()
    randomise_norms(backbone).eval()
    backbone.switch_to_deploy()
    return backbone


@pytest.mark.parametrize(
    'op_set', [list(SUB_KERNEL_NAMES), ['kxkxk', '1xkxk'], ['1xkxk', 'kx1x1']]
)
def test_out_of_place_forward_is_the_same_network(op_set):
    backbone = deploy_backbone(op_set)
    groups = [m for m in backbone.modules() if isinstance(m, ShapeGroup)]
    assert any(group.offsets for group in groups)
    clip = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        in_place = backbone(clip)
        for group in groups:
            group.out_of_place = True
        out_of_place = backbone(clip)
    torch.testing.assert_close(
        out_of_place, in_place, rtol=1e-5, atol=1e-5 * in_place.abs().max()
    )


def test_a_trace_takes_the_out_of_place_form():
    """Traced (as the ONNX export traces), every time offset is one zero
    padding and an add, not an in-place slice update, and the traced
    network is the eager one."""
    torch.manual_seed(0)
    backbone = deploy_backbone(['kxkxk', '1xkxk', 'kx1x1'])
    groups = [m for m in backbone.modules() if isinstance(m, ShapeGroup)]
    assert not any(group.out_of_place for group in groups)
    clip = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        traced = torch.jit.trace(backbone, clip, check_trace=False)
        kinds = [node.kind() for node in traced.inlined_graph.nodes()]
        offsets = sum(len(group.offsets) for group in groups)
        assert offsets > 0 and kinds.count('aten::pad') == offsets
        eager = backbone(clip)
        torch.testing.assert_close(
            traced(clip), eager, rtol=1e-5, atol=1e-5 * eager.abs().max()
        )
