"""The one-pass concatenation + residual + ReLU against PyTorch's three
operators: identical results, and PyTorch's path wherever the kernel does
not apply."""

import pytest
import torch
from model_helpers import (
    channels_last,
    count_calls,
    randomise_norms,
    torch_threads,
)

from cakes_mm.models import PmSCnResNet
from cakes_mm.models.layers import fused_concat
from cakes_mm.models.layers.fused_concat import concat_add_relu


def reference(parts, residual, relu):
    out = torch.cat(parts, 1)
    if residual is not None:
        out = out + residual
    return torch.relu(out) if relu else out


@pytest.fixture
def kernel_calls(monkeypatch):
    """One entry per binding of the C kernel (once per kernel call)."""
    return count_calls(monkeypatch, fused_concat, 'bind')


def make_parts(widths, layout, seed=0):
    parts = [
        channels_last(2, w, 3, 5, 6, seed=seed + i, shift=0.0)
        for i, w in enumerate(widths)
    ]
    return [p.contiguous(memory_format=layout) for p in parts]


@pytest.mark.parametrize(
    'layout', [torch.channels_last_3d, torch.contiguous_format]
)
@pytest.mark.parametrize('widths', [(8, 8), (5, 11, 3)])
@pytest.mark.parametrize('with_residual', [False, True])
@pytest.mark.parametrize('relu', [False, True])
@pytest.mark.parametrize('threads', [1, 2])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_equals_pytorch_exactly(
    kernel_calls, layout, widths, with_residual, relu, threads, dtype
):
    # bfloat16 (CPU autocast): PyTorch's add also sums in float and rounds
    # once to the nearest even, so the results are identical too.
    parts = [p.to(dtype) for p in make_parts(widths, layout)]
    residual = None
    if with_residual:
        residual = make_parts([sum(widths)], layout, seed=9)[0].to(dtype)
    with torch_threads(threads):
        out = concat_add_relu(parts, residual, relu)
    expected = reference(parts, residual, relu)
    assert len(kernel_calls) == 1
    assert out.dtype == dtype and torch.equal(out, expected)
    assert out.is_contiguous(memory_format=layout)


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_nan_stays_nan_as_in_pytorch(kernel_calls, dtype):
    parts = [p.to(dtype) for p in make_parts((4, 4), torch.channels_last_3d)]
    parts[1][0, 2, 1, 1, 1] = float('nan')
    out = concat_add_relu(parts, None, relu=True)
    assert len(kernel_calls) == 1
    torch.testing.assert_close(
        out, reference(parts, None, True), rtol=0, atol=0, equal_nan=True
    )
    assert torch.isnan(out[0, 6, 1, 1, 1])


@pytest.mark.parametrize(
    'case',
    ['grad', 'mixed layouts', 'float64', 'mixed dtypes', 'tracing', '4d'],
)
def test_other_inputs_take_pytorchs_path(kernel_calls, case):
    layout = torch.channels_last_3d
    parts = make_parts((4, 6), layout)
    if case == 'grad':
        parts[0].requires_grad_()
    elif case == 'mixed layouts':
        parts[1] = parts[1].contiguous()
    elif case == 'float64':
        parts = [p.double() for p in parts]
    elif case == 'mixed dtypes':
        parts[1] = parts[1].bfloat16()
    elif case == '4d':
        parts = [p[:, :, 0] for p in parts]
    if case == 'tracing':
        traced = torch.jit.trace(
            lambda a, b: concat_add_relu([a, b], None, True),
            tuple(parts),
            check_trace=False,  # its check reruns the function untraced
        )
        out = traced(*parts)
    else:
        out = concat_add_relu(parts, None, relu=True)
    assert kernel_calls == []
    assert torch.equal(out, reference(parts, None, True))
    if case == 'grad':
        out.sum().backward()
        assert parts[0].grad is not None


def test_mismatched_shapes_get_pytorchs_error(kernel_calls):
    parts = make_parts((4, 6), torch.channels_last_3d)
    with pytest.raises(RuntimeError, match='size'):
        concat_add_relu(parts, parts[0], relu=True)
    short = parts[1][:, :, :2].contiguous(memory_format=torch.channels_last_3d)
    with pytest.raises(RuntimeError, match='Sizes of tensors must match'):
        concat_add_relu([parts[0], short])
    assert kernel_calls == []


def test_off_kernels_give_pytorchs_result(monkeypatch):
    monkeypatch.setattr(fused_concat, 'bind', lambda *args: None)
    parts = make_parts((4, 6), torch.channels_last_3d)
    out = concat_add_relu(parts, None, relu=True)
    assert torch.equal(out, reference(parts, None, True))


@pytest.mark.parametrize('n', [1, 2])
def test_a_deploy_resnet_gives_the_same_output_with_the_kernel(
    monkeypatch, kernel_calls, n
):
    torch.manual_seed(0)
    model = PmSCnResNet(depth=18, pmscn=dict(m=2, n=n), base_channels=4)
    randomise_norms(model).eval().switch_to_deploy()
    model.to(memory_format=torch.channels_last_3d)
    x = channels_last(1, 3, 4, 32, 32)
    with torch.no_grad():
        fused = model(x)
        units = sum(len(block.convs) for block in model.blocks().values())
        assert len(kernel_calls) == units
        monkeypatch.setattr(fused_concat, 'bind', lambda *args: None)
        plain = model(x)
    # Each call is exact (above); the network's outputs may still differ
    # by rounding, since PyTorch's add returns the layout of an NCDHW
    # residual (a downsample's, at these sizes) where the kernel keeps the
    # parts' channels-last layout, and later convs round by layout.
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-6)
