import pytest
import torch
from model_helpers import count_calls, torch_threads

from cakes_mm.models.layers import cakes_conv, conv_plan
from cakes_mm.models.layers.cakes_conv import CAKESConv3d
from cakes_mm.models.layers.conv_plan import (
    box_size,
    pad_to_box,
    plan_blocks,
    plan_cost,
    set_partitions,
)
from cakes_mm.models.layers.sub_kernels import SUB_KERNEL_NAMES, uniform_split

BELL_NUMBERS = [1, 1, 2, 5, 15, 52, 203, 877]
PADDING_MODES = ['zeros', 'reflect', 'replicate', 'circular']

CL = torch.channels_last_3d


@pytest.mark.parametrize('count', range(8))
def test_every_partition_is_listed_once(count):
    items = SUB_KERNEL_NAMES[:count]
    partitions = set_partitions(items)
    assert len(partitions) == BELL_NUMBERS[count]
    canonical = {frozenset(frozenset(b) for b in p) for p in partitions}
    assert len(canonical) == len(partitions)
    for partition in partitions:
        assert sorted(n for b in partition for n in b) == sorted(items)


def test_box_holds_every_sub_kernel_and_padding_centres_it():
    assert box_size(['1xkxk', 'kx1x1']) == (3, 3, 3)
    assert box_size(['1xkx1', '1x1xk']) == (1, 3, 3)
    assert box_size(['kx1x1'], k=5) == (5, 1, 1)
    weight = torch.randn(2, 3, 1, 3, 1)
    padded = pad_to_box(weight, (3, 3, 3))
    assert padded.shape == (2, 3, 3, 3, 3)
    torch.testing.assert_close(padded[:, :, 1:2, :, 1:2], weight)
    assert padded.abs().sum() == weight.abs().sum()


@pytest.mark.parametrize('width', [8, 16])
@pytest.mark.parametrize('channels', [16, 32, 64, 256])
def test_the_plan_is_the_cheapest_partition(width, channels):
    choice = uniform_split(channels, SUB_KERNEL_NAMES)
    best = plan_cost(plan_blocks(choice, width), choice, width)
    for partition in set_partitions(list(choice)):
        assert best <= plan_cost(partition, choice, width)


def test_narrow_layers_fuse_and_wide_layers_split():
    narrow = uniform_split(16, SUB_KERNEL_NAMES)
    assert plan_blocks(narrow, 16) == (tuple(narrow),)
    wide = uniform_split(256, SUB_KERNEL_NAMES)
    assert plan_blocks(wide, 16) == tuple((name,) for name in wide)


def fused_pair(width, monkeypatch, in_channels, choice, **kwargs):
    """A CAKES conv planned at ``width`` and its one-conv-per-group twin."""
    monkeypatch.setattr(cakes_conv, 'block_width', lambda device: width)
    fused = CAKESConv3d(in_channels, choice, **kwargs)
    split = CAKESConv3d(in_channels, choice, plan='split', **kwargs)
    split.load_state_dict(fused.state_dict())
    return fused, split


@pytest.mark.parametrize('trial', range(12))
def test_every_plan_gives_the_split_output_and_gradients(trial, monkeypatch):
    gen = torch.Generator().manual_seed(trial)
    names = [SUB_KERNEL_NAMES[i] for i in torch.randperm(7, generator=gen)[:5]]
    choice = {n: int(torch.randint(0, 9, (1,), generator=gen)) for n in names}
    choice[names[0]] += 1
    width = sum(choice.values())
    order = torch.randperm(width, generator=gen).tolist()
    fused, split = fused_pair(
        # a width past every layer's channels fuses the narrow groups
        [4, 8, 64][trial % 3],
        monkeypatch,
        5,
        choice,
        stride=[1, 2, (1, 2, 2)][trial % 3],
        bias=trial % 2 == 0,
        dilation=[1, 2][trial % 2],
        padding_mode=PADDING_MODES[trial % 4],
        channel_order=order if trial % 3 == 0 else None,
    )
    if trial % 3 == 2:
        assert any(len(block) > 1 for block in fused.blocks['cpu'])
    x = torch.randn(2, 5, 7, 9, 8, generator=gen, requires_grad=True)
    out = fused(x)
    torch.testing.assert_close(out, split(x), rtol=1e-5, atol=1e-5)
    grad = torch.randn(out.shape, generator=gen)
    ours = torch.autograd.grad(out, [x, *fused.parameters()], grad)
    theirs = torch.autograd.grad(split(x), [x, *split.parameters()], grad)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_fused_blocks_keep_the_checkpoint_and_the_channel_order(
    monkeypatch,
):
    choice = {'kx1x1': 2, '1xkxk': 3, 'kxkxk': 1}
    fused, split = fused_pair(16, monkeypatch, 3, choice, channel_order=None)
    assert fused.blocks['cpu'] == (('kx1x1', '1xkxk', 'kxkxk'),)
    assert list(fused.state_dict()) == list(split.state_dict())
    assert fused.gather_cpu is None
    x = torch.randn(1, 3, 4, 6, 6)
    # Each group's channels come out where the split conv puts them.
    torch.testing.assert_close(fused(x)[:, :2], fused.convs['kx1x1'](x))
    torch.testing.assert_close(fused(x)[:, 5:], fused.convs['kxkxk'](x))


def output_and_gradients(conv, x, upstream):
    """``conv(x)``, and the gradients of ``x`` and of the parameters."""
    x = x.detach().requires_grad_()
    y = conv(x)
    return (y, *torch.autograd.grad(y, [x, *conv.parameters()], upstream))


def assert_all_close(ours, theirs):
    """Outputs and gradients equal to float32 rounding."""
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    'choice,plan,padding_mode',
    [
        ({'kx1x1': 8}, 'auto', 'zeros'),
        ({'kx1x1': 8}, 'auto', 'reflect'),
        ({'kx1x1': 3, '1x1xk': 2, 'kxkx1': 3}, 'split', 'zeros'),
    ],
)
def test_on_one_thread_kx1x1_groups_train_in_channels_last_3d(
    choice, plan, padding_mode
):
    """On one thread PyTorch runs a kx1x1 conv on its unvectorised kernel,
    which returns the default layout; a CAKES conv runs such a block as a
    2D conv instead: ``channels_last_3d`` out, and the output and gradients
    of the same conv on an NCDHW input."""
    torch.manual_seed(0)
    conv = CAKESConv3d(8, choice, plan=plan, padding_mode=padding_mode)
    assert ('kx1x1',) in conv.blocks['cpu']
    x, upstream = torch.randn(2, 8, 4, 5, 3), torch.randn(2, 8, 4, 5, 3)
    with torch_threads(1):
        ours = output_and_gradients(
            conv, x.contiguous(memory_format=CL), upstream
        )
    assert ours[0].is_contiguous(memory_format=CL)
    assert_all_close(ours, output_and_gradients(conv, x, upstream))


@pytest.mark.parametrize('plan', ['auto', 'split'])
def test_one_small_sample_runs_in_onednn_in_channels_last_3d(
    plan, monkeypatch
):
    """PyTorch runs a conv of one small sample (N·C·T·H at most 20,480) on
    its unvectorised kernel, which returns the default layout; a CAKES
    conv's blocks, fused or alone, call oneDNN's conv instead: the output
    and gradients of the same conv on an NCDHW input."""
    calls = count_calls(monkeypatch, torch, 'mkldnn_convolution')
    torch.manual_seed(0)
    conv = CAKESConv3d(8, {'kxkxk': 4, '1xkxk': 2, 'kxkx1': 2}, plan=plan)
    x, upstream = torch.randn(1, 8, 4, 5, 3), torch.randn(1, 8, 4, 5, 3)
    ours = output_and_gradients(conv, x.contiguous(memory_format=CL), upstream)
    assert len(calls) == len(conv.blocks['cpu'])
    assert ours[0].is_contiguous(memory_format=CL)
    assert_all_close(ours, output_and_gradients(conv, x, upstream))


def test_a_bad_plan_is_refused():
    with pytest.raises(ValueError, match='plan must be one of'):
        CAKESConv3d(3, {'kxkxk': 4}, plan='fast')


def test_the_block_width_follows_the_cpu(monkeypatch):
    monkeypatch.setattr(
        torch.backends.cpu, 'get_cpu_capability', lambda: 'AVX2'
    )
    assert conv_plan.block_width(torch.device('cpu')) == 8
    monkeypatch.setattr(
        torch.backends.cpu, 'get_cpu_capability', lambda: 'AVX512'
    )
    assert conv_plan.block_width(torch.device('cpu')) == 16
    assert conv_plan.block_width(torch.device('meta')) == 8
