"""The fused batch norm + ReLU against PyTorch's two operators, and the
loader of its C kernels: where they cannot be built, the plain path runs."""

import copy
import os
import stat

import pytest
import torch
import torch.nn as nn
from model_helpers import channels_last, randomise_norms, torch_threads

from cakes_mm.models import PmSCn
from cakes_mm.models.layers import fused_norm_relu, native_kernels
from cakes_mm.models.layers.channels_last_norm import vector_fold
from cakes_mm.models.layers.fused_norm_relu import norm_relu

CL = torch.channels_last_3d


def random_norm(channels, affine=True, momentum=0.1):
    """A batch norm with gains in [0.5, 1.5] and random running stats."""
    norm = nn.BatchNorm3d(channels, affine=affine, momentum=momentum)
    return randomise_norms(norm) if affine else norm


def random_instance_norm(channels, affine=True):
    """An instance norm with gains in [0.5, 1.5] and random shifts."""
    norm = nn.InstanceNorm3d(channels, affine=affine)
    if affine:
        generator = torch.Generator().manual_seed(channels)
        with torch.no_grad():
            norm.weight.uniform_(0.5, 1.5, generator=generator)
            norm.bias.normal_(0, 0.1, generator=generator)
    return norm


def away_from_the_kink(x, norm, margin=1e-3):
    """Where the float64 pre-activation is at least ``margin`` from 0: a
    ReLU's gradient there does not depend on float32 rounding."""
    x = x.double()
    dims = (2, 3, 4) if isinstance(norm, nn.InstanceNorm3d) else (0, 2, 3, 4)
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, unbiased=False, keepdim=True)
    z = (x - mean) / (var + norm.eps).sqrt()
    if norm.affine:
        z = z * norm.weight.double().view(1, -1, 1, 1, 1)
        z = z + norm.bias.double().view(1, -1, 1, 1, 1)
    return z.abs() > margin


def run_both(x, norm, threads=2):
    """(plain, fused) results: output, input gradient, norm after the
    step, and the output's grad_fn name."""
    grad = channels_last(*x.shape, scale=1.0, shift=0.0, seed=7)
    results = []
    for fused in (False, True):
        own = copy.deepcopy(norm)
        x_own = x.clone().requires_grad_()
        with torch_threads(threads):
            if fused:
                y = norm_relu(x_own, own, nn.ReLU())
            else:
                y = torch.relu(own(x_own))
            y.backward(grad)
        results.append((y, x_own.grad, own, type(y.grad_fn).__name__))
    return results


@pytest.mark.parametrize(
    'shape, affine, momentum',
    [
        ((2, 32, 4, 8, 8), True, 0.1),  # aligned width
        ((2, 18, 4, 6, 6), True, 0.1),  # 8 voxels to a row
        ((1, 5, 3, 3, 3), True, 0.1),  # 27 voxels: no fold divides them
        ((2, 24, 2, 4, 4), False, None),  # no affine; cumulative average
    ],
)
@pytest.mark.parametrize('threads', [1, 2])
def test_fused_equals_the_norm_then_relu(shape, affine, momentum, threads):
    x = channels_last(*shape)
    norm = random_norm(shape[1], affine, momentum).train()
    plain, fused = run_both(x, norm, threads)
    assert fused[3] == '_NormReLUBackward' != plain[3]
    torch.testing.assert_close(fused[0], plain[0], rtol=1e-5, atol=1e-5)
    assert fused[0].is_contiguous(memory_format=CL)
    assert fused[1].is_contiguous(memory_format=CL)
    far = away_from_the_kink(x, norm)
    assert far.float().mean() > 0.99
    torch.testing.assert_close(
        fused[1][far], plain[1][far], rtol=1e-4, atol=1e-5
    )
    for name in ('running_mean', 'running_var', 'num_batches_tracked'):
        torch.testing.assert_close(
            getattr(fused[2], name), getattr(plain[2], name)
        )
    if affine:
        for name in ('weight', 'bias'):
            torch.testing.assert_close(
                getattr(fused[2], name).grad,
                getattr(plain[2], name).grad,
                rtol=1e-3,  # a kink-side flip moves a sum by one term
                atol=1e-3,
            )


@pytest.mark.parametrize(
    'shape, affine',
    [
        ((2, 32, 4, 8, 8), True),  # aligned width
        ((3, 18, 4, 6, 6), True),  # 8 voxels to a row, in each sample
        ((2, 5, 3, 3, 3), True),  # 27 voxels a sample: no fold
        ((2, 24, 2, 4, 4), False),
    ],
)
@pytest.mark.parametrize('threads', [1, 2])
def test_fused_instance_norm_equals_the_norm_then_relu(shape, affine, threads):
    x = channels_last(*shape)
    x[1] = x[1] * 4 - 2  # samples of other statistics
    norm = random_instance_norm(shape[1], affine)
    plain, fused = run_both(x, norm, threads)
    assert fused[3] == '_NormReLUBackward' != plain[3]
    torch.testing.assert_close(fused[0], plain[0], rtol=1e-5, atol=1e-5)
    assert fused[0].is_contiguous(memory_format=CL)
    far = away_from_the_kink(x, norm)
    assert far.float().mean() > 0.99
    torch.testing.assert_close(
        fused[1][far], plain[1][far], rtol=1e-4, atol=1e-5
    )
    if affine:
        for name in ('weight', 'bias'):
            torch.testing.assert_close(
                getattr(fused[2], name).grad,
                getattr(plain[2], name).grad,
                rtol=1e-3,
                atol=1e-3,
            )


def test_without_the_kernels_an_instance_norm_stays_channels_last(
    monkeypatch,
):
    monkeypatch.setattr(fused_norm_relu, 'kernels', lambda: None)
    x = channels_last(2, 18, 4, 6, 6).requires_grad_()
    norm = random_instance_norm(18)
    y = norm_relu(x, norm, nn.ReLU())
    norm_node = y.grad_fn.next_functions[0][0]
    assert type(norm_node).__name__ == '_ChannelsLastInstanceNormBackward'
    y.sum().backward()
    assert y.is_contiguous(memory_format=CL)
    torch.testing.assert_close(y, torch.relu(norm(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    'shape, affine',
    [
        ((1, 32, 4, 8, 8), True),
        ((2, 18, 4, 6, 6), True),
        ((1, 24, 2, 4, 4), False),
    ],
)
@pytest.mark.parametrize('threads', [1, 2])
def test_inference_folds_the_running_statistics(
    monkeypatch, shape, affine, threads
):
    calls = []
    real = fused_norm_relu._affine_relu
    monkeypatch.setattr(
        fused_norm_relu,
        '_affine_relu',
        lambda *args: calls.append(1) or real(*args),
    )
    x = channels_last(*shape)
    norm = random_norm(shape[1], affine).eval()
    if not affine:
        norm.running_mean.normal_(
            0, 0.5, generator=torch.Generator().manual_seed(1)
        )
    with torch.no_grad(), torch_threads(threads):
        y = norm_relu(x, norm, nn.ReLU())
        expected = torch.relu(norm(x))
    assert calls == [1]
    assert y.is_contiguous(memory_format=CL)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)


def float64_reference(x, norm, grad):
    """relu(norm(x)) in float64 from the same (rounded) input, and the
    gradients of ``(output * grad).sum()``: input, weight and bias."""
    own = copy.deepcopy(norm).double()
    x64 = x.detach().double().requires_grad_()
    y = torch.relu(own(x64))
    y.backward(grad.double())
    return y, x64.grad, own


@pytest.mark.parametrize('instance', [False, True])
@pytest.mark.parametrize(
    'shape',
    [(2, 32, 4, 8, 8), (2, 18, 4, 6, 6), (2, 5, 3, 3, 3)],  # fold 1, 8, none
)
@pytest.mark.parametrize('threads', [1, 2])
def test_bfloat16_is_the_float64_result_rounded_once(shape, instance, threads):
    # Under CPU autocast a conv's output, and so its norm's input, is
    # bfloat16; the kernels then read and write bfloat16 and work in float.
    x = channels_last(*shape).bfloat16().requires_grad_()
    grad = channels_last(*shape, scale=1.0, shift=0.0, seed=7).bfloat16()
    norm = (
        random_instance_norm(shape[1])
        if instance
        else random_norm(shape[1]).train()
    )
    expected, expected_grad, reference = float64_reference(x, norm, grad)
    own = copy.deepcopy(norm)
    with torch_threads(threads):
        y = norm_relu(x, own, nn.ReLU())
        y.backward(grad)
    assert type(y.grad_fn).__name__ == '_NormReLUBackward'
    assert y.dtype == x.grad.dtype == torch.bfloat16
    assert y.is_contiguous(memory_format=CL)
    # Float arithmetic, then one rounding to bfloat16 (8 significant
    # bits): within half a unit, or float's error near zero.
    torch.testing.assert_close(
        y.double(), expected, rtol=2**-8, atol=1e-5, check_dtype=False
    )
    far = away_from_the_kink(x, norm)
    assert far.float().mean() > 0.99
    # The input gradient sums three float terms, then rounds once.
    scale = expected_grad.abs().max()
    torch.testing.assert_close(
        x.grad.double()[far],
        expected_grad[far],
        rtol=2**-8,
        atol=1e-3 * scale.item(),
        check_dtype=False,
    )
    for name in ('weight', 'bias'):
        torch.testing.assert_close(
            getattr(own, name).grad.double(),
            getattr(reference, name).grad,
            rtol=1e-3,  # a kink-side flip moves a sum by one term
            atol=1e-3,
        )
    if not instance:
        torch.testing.assert_close(
            own.running_var.double(), reference.running_var, rtol=1e-5, atol=0
        )


def test_bfloat16_inference_and_nan():
    x = channels_last(1, 18, 2, 4, 4).bfloat16()
    x[0, 3, 1, 2, 2] = float('nan')
    norm = random_norm(18).eval()
    with torch.no_grad():
        y = norm_relu(x, norm, nn.ReLU())
        expected = torch.relu(copy.deepcopy(norm).double()(x.double()))
    assert y.dtype == torch.bfloat16
    assert torch.isnan(y[0, 3, 1, 2, 2])
    torch.testing.assert_close(
        y.double(),
        expected,
        rtol=2**-8,
        atol=1e-5,
        equal_nan=True,
        check_dtype=False,
    )


def test_nan_stays_nan_as_in_pytorch():
    x = channels_last(1, 16, 2, 4, 4)
    x[0, 3, 1, 2, 2] = float('nan')
    norm = random_norm(16).eval()
    with torch.no_grad():
        y = norm_relu(x, norm, nn.ReLU())
        expected = torch.relu(norm(x))
    assert torch.isnan(y[0, 3, 1, 2, 2])
    torch.testing.assert_close(
        y, expected, rtol=1e-5, atol=1e-5, equal_nan=True
    )


def test_a_large_mean_keeps_the_variance():
    # Sums of x² alone would lose the variance to a mean 1000 times the
    # spread; the sums are taken about the first voxel's value.
    x = channels_last(2, 16, 4, 8, 8, scale=1.0, shift=1000.0)
    norm = random_norm(16).train()
    plain, fused = run_both(x, norm)
    torch.testing.assert_close(fused[0], plain[0], rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(
        fused[2].running_var, plain[2].running_var, rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize(
    'case',
    ['eval', 'ncdhw', 'float64', 'leaky_relu', 'tracked_instance_norm'],
)
def test_other_inputs_take_the_plain_path(case):
    x = channels_last(2, 16, 4, 8, 8)
    norm, act = random_norm(16).train(), nn.ReLU()
    if case == 'eval':
        norm.eval()
    elif case == 'ncdhw':
        x = x.contiguous()
    elif case == 'float64':
        x, norm = x.double(), norm.double()
    elif case == 'leaky_relu':
        act = nn.LeakyReLU()
    else:
        norm = nn.InstanceNorm3d(16, track_running_stats=True)
    x.requires_grad_()
    y = norm_relu(x, norm, act)
    assert type(y.grad_fn).__name__ != '_NormReLUBackward'
    torch.testing.assert_close(y, act(norm(x)))


def test_one_value_per_channel_gets_pytorchs_error():
    x = channels_last(1, 16, 1, 1, 1)
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        norm_relu(x, random_norm(16).train(), nn.ReLU())


def test_the_fold_makes_rows_of_whole_vectors():
    assert vector_fold(32, 100) == 1
    assert vector_fold(18, 64) == 8
    assert vector_fold(20, 12) == 4
    assert vector_fold(18, 27) == 1  # 8 does not divide 27 voxels
    assert vector_fold(5, 32) == 16


def test_a_pmscn_unit_trains_the_same_with_and_without_the_kernels(
    monkeypatch,
):
    torch.manual_seed(0)
    unit = PmSCn(16, 32, m=2, n=2).to(memory_format=CL).train()
    x = channels_last(2, 16, 4, 8, 8)
    grads, outputs = [], []
    for with_kernels in (True, False):
        if not with_kernels:
            monkeypatch.setattr(fused_norm_relu, 'kernels', lambda: None)
        own = copy.deepcopy(unit)
        y = own(x)
        y.square().mean().backward()
        outputs.append(y)
        grads.append([p.grad for p in own.parameters()])
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-4, atol=1e-4)
    for fused, plain in zip(*grads):
        torch.testing.assert_close(fused, plain, rtol=1e-3, atol=1e-4)


@pytest.fixture
def fresh_loader(monkeypatch, tmp_path):
    """The loader with an empty cache in ``tmp_path`` and no memory of
    earlier loads; its memory is cleared again afterwards."""
    monkeypatch.setenv(native_kernels.CACHE_ENV, str(tmp_path / 'cache'))
    monkeypatch.delenv(native_kernels.DISABLE_ENV, raising=False)
    native_kernels.load.cache_clear()
    yield tmp_path / 'cache'
    native_kernels.load.cache_clear()


def test_the_kernels_build_into_the_cache_once(fresh_loader):
    library = native_kernels.load('batch_norm_relu')
    assert library is not None
    built = sorted(fresh_loader.iterdir())
    assert [p.name.startswith('batch_norm_relu-') for p in built] == [True]
    assert stat.S_IMODE(fresh_loader.stat().st_mode) & 0o077 == 0
    native_kernels.load.cache_clear()
    before = built[0].stat().st_mtime_ns
    assert native_kernels.load('batch_norm_relu') is not None
    assert built[0].stat().st_mtime_ns == before  # loaded, not rebuilt


def test_the_switch_turns_them_off(fresh_loader, monkeypatch):
    monkeypatch.setenv(native_kernels.DISABLE_ENV, '1')
    assert native_kernels.load('batch_norm_relu') is None
    assert not fresh_loader.exists() or not any(fresh_loader.iterdir())


@pytest.mark.parametrize('compiler', ['missing', 'failing'])
def test_no_working_compiler_warns_and_falls_back(
    fresh_loader, monkeypatch, tmp_path, compiler
):
    if compiler == 'missing':
        monkeypatch.setattr(native_kernels, 'find_compiler', lambda: None)
        match = 'no C compiler found'
    else:
        fake = tmp_path / 'cc'
        fake.write_text('#!/bin/sh\necho "cc: broken" >&2\nexit 1\n')
        fake.chmod(0o755)
        monkeypatch.setenv('CC', str(fake))
        match = 'could not build batch_norm_relu.c: cc: broken'
    with pytest.warns(UserWarning, match=match):
        assert native_kernels.load('batch_norm_relu') is None
    # Nothing half-written is left behind.
    assert not fresh_loader.exists() or not any(fresh_loader.iterdir())
    # And the norm still works, on the plain path.
    x = channels_last(2, 16, 2, 4, 4).requires_grad_()
    y = norm_relu(x, random_norm(16).train(), nn.ReLU())
    assert type(y.grad_fn).__name__ != '_NormReLUBackward'


def test_a_cache_others_may_write_to_is_refused(fresh_loader):
    fresh_loader.mkdir(parents=True)
    os.chmod(fresh_loader, 0o777)
    with pytest.warns(UserWarning, match='no private cache directory'):
        assert native_kernels.load('batch_norm_relu') is None
