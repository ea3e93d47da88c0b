"""The channel permutation kernel against index_select: the same bits,
and PyTorch's path wherever the kernel does not apply."""

import pytest
import torch
from model_helpers import count_calls, torch_threads

from cakes_mm.models.layers import channel_permutation
from cakes_mm.models.layers.cakes_conv import gather_channels
from cakes_mm.models.layers.channel_permutation import permuted_columns

#: Each element dtype with the integer type of its bits.
BITS = {torch.float32: torch.int32, torch.bfloat16: torch.int16}


@pytest.fixture
def kernel_calls(monkeypatch):
    """One entry per binding of the C kernel (once per kernel call)."""
    return count_calls(monkeypatch, channel_permutation, 'bind')


@pytest.mark.parametrize('dtype', list(BITS))
@pytest.mark.parametrize('width', [1, 7, 64])
@pytest.mark.parametrize('threads', [1, 2])
def test_every_bit_lands_where_index_select_puts_it(
    kernel_calls, dtype, width, threads
):
    """Random bit patterns, NaNs and infinities among them, keep their
    bits exactly."""
    generator = torch.Generator().manual_seed(width)
    limits = torch.iinfo(BITS[dtype])
    bits = torch.randint(
        limits.min,
        limits.max,
        (37, width),
        dtype=BITS[dtype],
        generator=generator,
    )
    rows = bits.view(dtype)
    order = torch.randperm(width, generator=generator)
    with torch_threads(threads):
        out = permuted_columns(rows, order)
    assert len(kernel_calls) == 1
    expected = bits.index_select(1, order)
    assert out.dtype == dtype and torch.equal(out.view(BITS[dtype]), expected)


@pytest.mark.parametrize(
    'case',
    ['float64', 'not contiguous', 'three dimensions', 'empty', 'compiling'],
)
def test_other_inputs_are_left_to_pytorch(kernel_calls, monkeypatch, case):
    torch.manual_seed(0)
    rows = torch.randn(6, 4)
    order = torch.randperm(4)
    if case == 'float64':
        rows = rows.double()
    elif case == 'not contiguous':
        rows = torch.randn(4, 6).t()
    elif case == 'three dimensions':
        rows = rows.view(2, 3, 4)
    elif case == 'empty':
        rows = rows[:0]
    else:
        monkeypatch.setattr(torch.compiler, 'is_compiling', lambda: True)
    assert permuted_columns(rows, order) is None
    assert kernel_calls == []


@pytest.mark.parametrize('dtype', list(BITS))
def test_a_channels_last_gather_runs_the_kernel_both_ways(kernel_calls, dtype):
    """gather_channels on a channels_last_3d tensor: forward and backward
    through the kernel, equal to index_select's."""
    torch.manual_seed(0)
    shape = (2, 12, 3, 4, 5)
    order = torch.randperm(shape[1])
    x = torch.randn(shape).to(dtype)
    ours = x.clone(memory_format=torch.channels_last_3d).requires_grad_()
    theirs = x.clone().requires_grad_()
    y, expected = gather_channels(ours, order), theirs.index_select(1, order)
    upstream = torch.randn(shape).to(dtype)
    y.backward(upstream.contiguous(memory_format=torch.channels_last_3d))
    expected.backward(upstream)
    assert len(kernel_calls) == 2
    assert torch.equal(y, expected)
    assert y.is_contiguous(memory_format=torch.channels_last_3d)
    assert torch.equal(ours.grad, theirs.grad)
