"""FusedConv2d: conv, residual add and ReLU in one oneDNN call with a weight
reordered in advance, equal to the steps one by one, and only where no
gradient is recorded, nothing is traced and the input is channels_last."""

import copy
import itertools
import pickle

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cakes_mm.models.layers import fused_conv
from cakes_mm.models.layers.fused_conv import FusedConv2d, post_ops_dtype

CL = torch.channels_last


def by_steps(conv, x, residual, relu):
    """The reference: F.conv2d, then the add, then the ReLU."""
    y = F.conv2d(
        x,
        conv.weight,
        conv.bias,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
    )
    if residual is not None:
        y = y + residual
    return F.relu(y) if relu else y


def fused_calls(monkeypatch):
    """Record each call of oneDNN's fused ops."""
    calls = []
    for name in ('_convolution_pointwise', '_reorder_convolution_weight'):
        op = getattr(torch.ops.mkldnn, name)
        monkeypatch.setattr(
            fused_conv.torch.ops.mkldnn,
            name,
            _Recorder(op, calls, name),
        )
    return calls


class _Recorder:
    """An op's stand-in that records its calls and forwards them."""

    def __init__(self, op, calls, name):
        self.op, self.calls, self.name = op, calls, name

    def __call__(self, *args):
        self.calls.append(self.name)
        return self.op(*args)

    def __getattr__(self, overload):
        op = getattr(self.op, overload)
        return _Recorder(op, self.calls, f'{self.name}.{overload}')


@pytest.mark.parametrize(
    'kernel,stride,groups,bias,residual,relu',
    list(
        itertools.product(
            [1, 3, (1, 3)],
            [1, 2],
            [1, 2],
            [True, False],
            [False, True],
            [False, True],
        )
    ),
)
def test_the_fused_call_equals_the_steps(
    kernel, stride, groups, bias, residual, relu, monkeypatch
):
    torch.manual_seed(0)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    conv = FusedConv2d(
        8, 6, (kh, kw), stride, (kh // 2, kw // 2), groups=groups, bias=bias
    ).to(memory_format=CL)
    x = torch.randn(3, 8, 9, 10).contiguous(memory_format=CL)
    shape = by_steps(conv, x, None, False).shape
    other = (
        torch.randn(shape).contiguous(memory_format=CL) if residual else None
    )
    calls = fused_calls(monkeypatch)
    with torch.inference_mode():
        y = conv(x, other, relu)
    assert calls == [
        '_reorder_convolution_weight',
        '_convolution_pointwise.binary'
        if residual
        else '_convolution_pointwise',
    ]
    expected = by_steps(conv, x, other, relu)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)
    assert y.is_contiguous(memory_format=CL)
    if relu:  # the ReLU had something to do
        assert (by_steps(conv, x, other, False) < 0).any()


def test_the_reordered_weight_is_made_again_when_the_weight_or_shape_changes(
    monkeypatch,
):
    torch.manual_seed(0)
    conv = FusedConv2d(4, 5, 3, padding=1).to(memory_format=CL)
    x = torch.randn(2, 4, 6, 6).contiguous(memory_format=CL)
    calls = fused_calls(monkeypatch)

    def run(inputs):
        with torch.no_grad():
            y = conv(inputs, relu=True)
        torch.testing.assert_close(
            y, by_steps(conv, inputs, None, True), rtol=1e-5, atol=1e-5
        )
        return calls.count('_reorder_convolution_weight')

    assert run(x) == 1
    assert run(x) == 1  # the same shape and weight: kept
    with torch.no_grad():
        conv.weight.mul_(-2)  # an in-place change
    assert run(x) == 2
    conv.load_state_dict(
        {'weight': torch.randn(5, 4, 3, 3), 'bias': torch.randn(5)}
    )
    assert run(x) == 3
    bigger = torch.randn(3, 4, 7, 6).contiguous(memory_format=CL)
    assert run(bigger) == 4
    assert run(bigger) == 4


def test_a_used_conv_still_copies_and_pickles():
    torch.manual_seed(0)
    conv = FusedConv2d(4, 5, 3, padding=1).to(memory_format=CL)
    x = torch.randn(1, 4, 6, 6).contiguous(memory_format=CL)
    with torch.no_grad():
        expected = conv(x, relu=True)
    for other in (copy.deepcopy(conv), pickle.loads(pickle.dumps(conv))):
        with torch.no_grad():
            torch.testing.assert_close(other(x, relu=True), expected)


class _WithResidual(nn.Module):
    """``conv(x, residual, relu=True)`` as a module, to trace."""

    def __init__(self, conv, residual):
        super().__init__()
        self.conv = conv
        self.register_buffer('residual', residual)

    def forward(self, x):
        return self.conv(x, self.residual, relu=True)


@pytest.mark.parametrize(
    'case', ['grad', 'trace', 'nchw', 'float64', 'residual_nchw']
)
def test_steps_run_one_by_one_where_the_fused_call_does_not_apply(
    case, monkeypatch
):
    torch.manual_seed(0)
    dtype = torch.float64 if case == 'float64' else torch.float32
    conv = FusedConv2d(4, 5, 3, padding=1, dtype=dtype)
    layout = torch.contiguous_format if case == 'nchw' else CL
    conv = conv.to(memory_format=layout)
    x = torch.randn(2, 4, 6, 6, dtype=dtype).contiguous(memory_format=layout)
    other = torch.randn(2, 5, 6, 6, dtype=dtype)
    if case != 'residual_nchw':
        other = other.contiguous(memory_format=layout)
    calls = fused_calls(monkeypatch)
    if case == 'grad':
        y = conv(x, other, relu=True)
        y.sum().backward()
        assert conv.weight.grad is not None
    elif case == 'trace':
        with torch.no_grad():
            traced = torch.jit.trace(
                _WithResidual(conv, other), x, check_trace=False
            )
        assert 'mkldnn' not in str(traced.graph)
        y = traced(x)
    else:
        with torch.no_grad():
            y = conv(x, other, relu=True)
    assert calls == []
    torch.testing.assert_close(y, by_steps(conv, x, other, True).detach())


def test_post_ops_only_for_channels_last_cpu_inference_in_float32_or_bf16():
    x = torch.randn(1, 3, 4, 4).contiguous(memory_format=CL)
    assert fused_conv.onednn_post_ops_available()  # the CPU wheel has them
    with torch.no_grad():
        assert post_ops_dtype(x) == torch.float32
        assert post_ops_dtype(x.contiguous()) is None
        assert post_ops_dtype(x.double()) is None
        assert post_ops_dtype(x.bfloat16()) is None  # weights stay float32
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert post_ops_dtype(x) == torch.bfloat16
            assert post_ops_dtype(x.bfloat16()) == torch.bfloat16
            assert post_ops_dtype(x.double()) is None
        with torch.autocast('cpu', dtype=torch.float16):
            assert post_ops_dtype(x) is None
    assert post_ops_dtype(x) is None  # a gradient may be recorded


@pytest.mark.parametrize('residual, relu', [(False, True), (True, True)])
def test_under_bf16_autocast_one_call_matches_autocasts_steps(
    monkeypatch, residual, relu
):
    # Autocast runs the conv in bfloat16; the fused call does too, and adds
    # the (bfloat16) residual before its single rounding.
    torch.manual_seed(0)
    conv = FusedConv2d(16, 24, 3, padding=1).eval()
    x = torch.randn(2, 16, 8, 8).contiguous(memory_format=CL)
    other = None
    if residual:
        other = torch.randn(2, 24, 8, 8).bfloat16()
        other = other.contiguous(memory_format=CL)
    calls = fused_calls(monkeypatch)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        y = conv(x, other, relu=relu)
        y_again = conv(x, other, relu=relu)  # the bf16 weight is kept
        expected = by_steps(conv, x, other, relu)
    op = '_convolution_pointwise' + ('.binary' if residual else '')
    assert calls == ['_reorder_convolution_weight', op, op]
    assert y.dtype == expected.dtype == torch.bfloat16
    assert y.is_contiguous(memory_format=CL)
    assert torch.equal(y, y_again)
    scale = expected.float().abs().max().item()
    # Two roundings to bfloat16 against one: within one unit (2^-7).
    torch.testing.assert_close(
        y.float(), expected.float(), rtol=2**-7, atol=2**-7 * scale
    )
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        conv.bias.add_(1.0)  # the kept bfloat16 bias follows the change
        moved = conv(x, other, relu=relu)
        expected = by_steps(conv, x, other, relu)
    assert not torch.equal(moved, y)
    torch.testing.assert_close(
        moved.float(), expected.float(), rtol=2**-7, atol=2**-7 * scale
    )
    with torch.no_grad():  # float32 again: the float32 weight is made
        torch.testing.assert_close(
            conv(x, None, relu=relu),
            by_steps(conv, x, None, relu),
            rtol=1e-5,
            atol=1e-5,
        )


def test_fused_conv_is_an_nn_conv2d_with_its_state_dict():
    conv = FusedConv2d(4, 5, 3, padding=1)
    assert isinstance(conv, nn.Conv2d)
    assert conv.state_dict().keys() == nn.Conv2d(4, 5, 3).state_dict().keys()
    with pytest.raises(ValueError, match="padding='same'"):
        FusedConv2d(4, 5, 3, padding='same')
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        FusedConv2d(4, 5, 3, padding=1, padding_mode='reflect')
