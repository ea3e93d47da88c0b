import copy

import pytest
import torch
import torch.nn as nn
from model_helpers import channels_last, count_calls

from cakes_mm.models import PmSCn
from cakes_mm.models.layers import channels_last_norm, fused_norm_relu
from cakes_mm.models.layers.channels_last_norm import (
    _AlignedBatchNorm,
    _ChannelsLastInstanceNorm,
    aligned_batch_norm,
    channels_last_instance_norm,
    column_fold,
    uses_batch_statistics,
)
from cakes_mm.models.volumetric.c2fnas import PreActConv

CL = torch.channels_last_3d


def random_norm(channels, affine=True, momentum=0.1, seed=1):
    torch.manual_seed(seed)
    norm = nn.BatchNorm3d(channels, affine=affine, momentum=momentum)
    if affine:
        nn.init.normal_(norm.weight)
        nn.init.normal_(norm.bias)
    return norm


@pytest.mark.parametrize(
    'channels, fold', [(3, 16), (18, 8), (20, 4), (36, 4), (41, 16)]
)
def test_fold_aligns_the_rows(channels, fold):
    x = channels_last(2, channels, 4, 4, 8)
    assert column_fold(x) == fold
    assert fold * channels % channels_last_norm.VECTOR_WIDTH == 0


@pytest.mark.parametrize(
    'x',
    [
        channels_last(2, 16, 4, 4, 4),  # aligned
        channels_last(2, 72, 4, 4, 4),  # wide: PyTorch's kernel is as fast
        channels_last(2, 18, 4, 4, 4).contiguous(),  # NCDHW
        channels_last(2, 18, 4, 4, 4).double(),
        channels_last(1, 18, 1, 1, 3),  # 3 voxels: no whole row of 8
        torch.randn(4, 18, 4, 4),  # not 5D
    ],
    ids=['aligned', 'wide', 'ncdhw', 'float64', 'few voxels', '4d'],
)
def test_no_fold_where_the_plain_norm_is_fine_or_needed(x):
    assert column_fold(x) == 0


@pytest.mark.parametrize('channels', [3, 18, 20, 41])
@pytest.mark.parametrize('affine', [True, False])
@pytest.mark.parametrize('momentum', [0.1, None])
def test_equals_batch_norm_in_training(channels, affine, momentum):
    x = channels_last(4, channels, 6, 8, 8).requires_grad_()
    grad = channels_last(4, channels, 6, 8, 8, seed=2, shift=0.0)
    plain = random_norm(channels, affine, momentum)
    aligned = copy.deepcopy(plain)
    expected = []
    for norm, forward in ((plain, plain), (aligned, None)):
        x.grad = None
        for _ in range(2):  # running statistics over two steps
            out = norm(x) if forward else aligned_batch_norm(x, norm)
        out.backward(grad)
        expected.append((out, x.grad.clone()))
    (out_plain, grad_plain), (out_aligned, grad_aligned) = expected
    assert out_aligned.is_contiguous(memory_format=CL)
    torch.testing.assert_close(out_aligned, out_plain, rtol=1e-4, atol=1e-4)
    scale = grad_plain.abs().max()
    torch.testing.assert_close(
        grad_aligned / scale, grad_plain / scale, rtol=0, atol=1e-5
    )
    for name in ('running_mean', 'running_var', 'num_batches_tracked'):
        torch.testing.assert_close(
            getattr(aligned, name), getattr(plain, name), rtol=1e-5, atol=1e-6
        )
    if affine:
        for name in ('weight', 'bias'):
            want = getattr(plain, name).grad
            got = getattr(aligned, name).grad
            torch.testing.assert_close(
                got / want.abs().max(),
                want / want.abs().max(),
                atol=1e-5,
                rtol=0,
            )


def test_gradients_are_exact_in_float64():
    x = channels_last(2, 3, 2, 4, 4).double().requires_grad_()
    weight = torch.randn(3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def normalised(x, weight, bias):
        return _AlignedBatchNorm.apply(x, weight, bias, 1e-5, 16)[0]

    assert torch.autograd.gradcheck(normalised, (x, weight, bias))


def test_eval_and_unfolded_inputs_use_the_norm_itself():
    norm = random_norm(18).eval()
    x = channels_last(2, 18, 4, 4, 4)
    torch.testing.assert_close(
        aligned_batch_norm(x, norm), norm(x), rtol=0, atol=0
    )
    norm.train()
    with pytest.raises(RuntimeError, match='running_mean should contain 20'):
        aligned_batch_norm(channels_last(2, 20, 4, 4, 4), norm)


def test_sync_batch_norm_keeps_its_own_path():
    """A SyncBatchNorm's statistics span processes, so it is never replaced
    (here it runs unsynchronised, as it does outside a process group)."""
    norm = nn.SyncBatchNorm(18).train()
    assert not uses_batch_statistics(norm)
    x = channels_last(2, 18, 4, 4, 4)
    twin = copy.deepcopy(norm)
    torch.testing.assert_close(
        aligned_batch_norm(x, norm), twin(x), rtol=0, atol=0
    )


def test_pmscn_trains_alike_in_either_layout(monkeypatch):
    """Without the fused norm + ReLU kernels, the channels-last unit takes
    the aligned norm (and its ReLU then works in place on the norm's
    output); NCDHW takes PyTorch's. Outputs, gradients and running stats
    agree."""
    monkeypatch.setattr(fused_norm_relu, 'kernels', lambda: None)
    calls = []
    apply = _AlignedBatchNorm.apply
    monkeypatch.setattr(
        _AlignedBatchNorm,
        'apply',
        lambda *args: calls.append(args[-1]) or apply(*args),
    )
    torch.manual_seed(0)
    unit = PmSCn(4, 16, m=2, n=2).train()
    twin = copy.deepcopy(unit)
    x = channels_last(2, 4, 8, 8, 8)
    out_cl = unit(x)
    assert calls == [8, 8, 8, 8]  # widths 10 and 18: 8 rows fold to one
    out_nc = twin(x.contiguous())
    assert len(calls) == 4  # NCDHW added none
    torch.testing.assert_close(out_cl, out_nc, rtol=1e-4, atol=1e-4)
    out_cl.square().sum().backward()
    out_nc.square().sum().backward()
    for (name, a), b in zip(unit.named_parameters(), twin.parameters()):
        scale = b.grad.abs().max()
        torch.testing.assert_close(
            a.grad / scale, b.grad / scale, rtol=0, atol=1e-4, msg=name
        )
    for a, b in zip(unit.buffers(), twin.buffers()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('affine', [True, False])
@pytest.mark.parametrize('channels', [3, 32])
def test_instance_norm_equals_pytorch_in_training_and_eval(affine, channels):
    torch.manual_seed(3)
    norm = nn.InstanceNorm3d(channels, affine=affine)
    if affine:
        nn.init.normal_(norm.weight)
        nn.init.normal_(norm.bias)
    twin = copy.deepcopy(norm)
    x = channels_last(3, channels, 4, 6, 8).requires_grad_()
    grad = channels_last(3, channels, 4, 6, 8, seed=2, shift=0.0)
    out = channels_last_instance_norm(x, norm)
    assert out.is_contiguous(memory_format=CL)
    out.backward(grad)
    got = [x.grad.clone()] + [p.grad for p in norm.parameters()]
    x.grad = None
    expected = twin(x.contiguous())
    expected.backward(grad)
    want = [x.grad] + [p.grad for p in twin.parameters()]
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)
    with torch.no_grad():  # eval without running stats: instance stats too
        torch.testing.assert_close(
            channels_last_instance_norm(x, norm.eval()),
            twin.eval()(x),
            rtol=1e-4,
            atol=1e-4,
        )


def float64_instance_norm(x, norm, grad):
    """The instance norm of ``x`` in float64 and NCDHW, its input gradient
    and its weight and bias gradients for ``grad``, all in NCDHW (where
    PyTorch's CPU backward is right at any batch size)."""
    own = copy.deepcopy(norm).double()
    x64 = x.detach().double().contiguous().requires_grad_()
    out = own(x64)
    out.backward(grad.double().contiguous())
    return out, x64.grad, own.weight.grad, own.bias.grad


@pytest.mark.parametrize('channels', [8, 32])
def test_a_batch_of_one_gets_the_right_gradient(channels):
    # PyTorch 2.13's CPU instance norm returns a wrong input gradient for a
    # batch of one sample when the gradient it receives is channels-last,
    # as every gradient of a channels-last network is; the rows path is
    # taken at any width there.
    torch.manual_seed(4)
    norm = nn.InstanceNorm3d(channels, affine=True)
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)
    x = channels_last(1, channels, 4, 6, 8).requires_grad_()
    grad = channels_last(1, channels, 4, 6, 8, seed=2, shift=0.0)
    out = channels_last_norm.channels_last_norm(x, norm)
    assert type(out.grad_fn).__name__ == '_ChannelsLastInstanceNormBackward'
    out.backward(grad)
    expected, grad_x, grad_w, grad_b = float64_instance_norm(x, norm, grad)
    for got, want in (
        (out, expected),
        (x.grad, grad_x),
        (norm.weight.grad, grad_w),
        (norm.bias.grad, grad_b),
    ):
        torch.testing.assert_close(
            got.double(), want, rtol=1e-4, atol=1e-4, check_dtype=False
        )


def test_bfloat16_instance_norm_runs_on_the_rows():
    # Under CPU autocast a conv's output is bfloat16; PyTorch's instance
    # norm would copy it to NCDHW and back.
    torch.manual_seed(5)
    norm = nn.InstanceNorm3d(32, affine=True)
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)
    x = channels_last(2, 32, 4, 6, 8).bfloat16().requires_grad_()
    grad = channels_last(2, 32, 4, 6, 8, seed=2, shift=0.0).bfloat16()
    out = channels_last_instance_norm(x, norm)
    assert type(out.grad_fn).__name__ == '_ChannelsLastInstanceNormBackward'
    assert out.dtype == torch.bfloat16 and out.is_contiguous(memory_format=CL)
    out.backward(grad)
    assert x.grad.dtype == torch.bfloat16
    expected, grad_x, grad_w, grad_b = float64_instance_norm(x, norm, grad)
    # Float arithmetic, one rounding to bfloat16: half a unit (2^-8).
    torch.testing.assert_close(
        out.double(), expected, rtol=2**-8, atol=1e-2, check_dtype=False
    )
    scale = grad_x.abs().max().item()
    torch.testing.assert_close(
        x.grad.double(),
        grad_x,
        rtol=2**-7,
        atol=1e-2 * scale,
        check_dtype=False,
    )
    for got, want in ((norm.weight.grad, grad_w), (norm.bias.grad, grad_b)):
        torch.testing.assert_close(got.double(), want, rtol=1e-2, atol=1e-2)


def test_outputs_may_be_overwritten_in_place():
    """A ReLU in place on either Function's output keeps the gradients."""
    x = channels_last(2, 18, 4, 4, 4).requires_grad_()
    batch_norm, instance_norm = nn.BatchNorm3d(18), nn.InstanceNorm3d(18)
    for norm, fast in (
        (batch_norm, aligned_batch_norm),
        (instance_norm, channels_last_instance_norm),
    ):
        fast(x, norm).relu_().sum().backward()
        got, x.grad = x.grad, None
        copy.deepcopy(norm)(x.contiguous()).relu().sum().backward()
        torch.testing.assert_close(got, x.grad, rtol=1e-4, atol=1e-5)
        x.grad = None


def test_instance_norm_gradients_are_exact_in_float64():
    x = channels_last(2, 3, 2, 4, 4).double().requires_grad_()
    weight = torch.randn(3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def normalised(x, weight, bias):
        return _ChannelsLastInstanceNorm.apply(x, weight, bias, 1e-5)

    assert torch.autograd.gradcheck(normalised, (x, weight, bias))


@pytest.mark.parametrize(
    'norm',
    [
        nn.InstanceNorm3d(8, track_running_stats=True),
        nn.BatchNorm3d(8),
        nn.GroupNorm(2, 8),
    ],
    ids=['running stats', 'batch norm', 'group norm'],
)
def test_other_norms_run_as_they_are(norm, monkeypatch):
    def refuse(*args):
        raise AssertionError('the channels-last instance norm ran')

    monkeypatch.setattr(_ChannelsLastInstanceNorm, 'apply', refuse)
    x = channels_last(2, 8, 4, 4, 4)
    torch.testing.assert_close(
        channels_last_instance_norm(x, norm),
        copy.deepcopy(norm)(x),
        rtol=0,
        atol=0,
    )


def test_instance_norm_steps_aside_for_ncdhw_and_tracing(monkeypatch):
    calls = count_calls(monkeypatch, _ChannelsLastInstanceNorm, 'apply')
    norm = nn.InstanceNorm3d(8, affine=True)
    x = channels_last(2, 8, 4, 4, 4)
    channels_last_instance_norm(x.contiguous(), norm)
    block = PreActConv(nn.Identity(), 8, dict(type='IN3d'))
    torch.jit.trace(block, (x,), check_trace=False)  # a check runs eagerly
    assert not calls
    channels_last_instance_norm(x, norm)
    assert calls == [1]
