"""FlatConv3d: a flat kernel as a 2D conv over a free view, exactly the 3D
conv, in the input's layout, where no gradient is recorded, in training for
a kernel flat along T over large frames, or where PyTorch would otherwise
run it on its unvectorised kernel."""

import itertools

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from model_helpers import count_calls

from cakes_mm.models.layers import flat_conv
from cakes_mm.models.layers.flat_conv import FlatConv3d, flat_conv3d
from cakes_mm.models.layers.pmscn import PmSCn

CL = torch.channels_last_3d
FLAT = [(1, 3, 3), (3, 3, 1), (3, 1, 3), (3, 1, 1), (1, 1, 3), (1, 3, 1)]


def assert_trains_alike(ours, theirs, upstream=None):
    """Backpropagate ``upstream`` (seeded random by default) through two
    (conv, input, output) triples; their outputs, and their input, weight
    and bias gradients, are equal."""
    (conv, x, y), (plain, plain_x, expected) = ours, theirs
    if upstream is None:
        upstream = torch.randn_like(expected)
    y.backward(upstream)
    expected.backward(upstream)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)
    for mine, reference in (
        (x.grad, plain_x.grad),
        (conv.weight.grad, plain.weight.grad),
        (conv.bias.grad, plain.bias.grad),
    ):
        torch.testing.assert_close(mine, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    'kernel,layout,dilation,relu',
    list(
        itertools.product(
            FLAT, [CL, torch.contiguous_format], [1, 2], [False, True]
        )
    ),
)
def test_flat_conv_equals_conv3d_in_the_input_layout(
    kernel, layout, dilation, relu
):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 4, 6, 7).contiguous(memory_format=layout)
    weight, bias = torch.randn(3, 5, *kernel), torch.randn(3)
    padding = tuple(dilation * (k // 2) for k in kernel)
    dilations = (dilation,) * 3
    with torch.no_grad():
        y = flat_conv3d(x, weight, bias, padding, dilations, relu)
    if kernel[0] == 1 and kernel[1] == 3 == kernel[2] and layout != CL:
        assert y is None  # no free view: T cannot join the batch
        return
    expected = F.conv3d(x, weight, bias, 1, padding, dilations)
    if relu:
        assert (expected < 0).any()
        expected = F.relu(expected)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)
    assert y.is_contiguous(memory_format=layout)


@pytest.mark.parametrize('layout', [CL, torch.contiguous_format])
@pytest.mark.parametrize('kernel', FLAT + [(1, 1, 1)])
@pytest.mark.parametrize('padding', [(0, 0, 0), (1, 0, 0), (0, 1, 1)])
def test_a_padding_that_does_not_keep_the_size(kernel, layout, padding):
    """Any zero padding: the view's output takes the 2D conv's sizes, or,
    where the padding lies along the axis the view folds (which has no room
    for padded rows), there is no flat form (None), never a wrong one."""
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 7, 8).contiguous(memory_format=layout)
    weight = torch.randn(3, 5, *kernel)
    with torch.no_grad():
        y = flat_conv3d(x, weight, None, padding, (1, 1, 1))
    expected = F.conv3d(x, weight, None, 1, padding)
    if padding == (0, 0, 0) and (layout == CL or kernel[0] > 1):
        assert y is not None
    if y is not None:
        torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)


def test_a_full_kernel_has_no_flat_form():
    x = torch.randn(1, 2, 3, 3, 3)
    assert (
        flat_conv3d(x, torch.randn(2, 2, 3, 3, 3), None, (1,) * 3, (1,) * 3)
        is None
    )


@pytest.fixture
def calls(monkeypatch):
    """A list that gets an entry for every 2D conv the flat form runs."""
    return count_calls(monkeypatch, flat_conv, 'conv2d_post_ops')


def test_flat_conv3d_is_an_nn_conv3d_and_infers_through_the_view(calls):
    torch.manual_seed(0)
    conv = FlatConv3d(4, 6, (3, 3, 1), padding=(1, 1, 0))
    plain = nn.Conv3d(4, 6, (3, 3, 1), padding=(1, 1, 0))
    assert conv.state_dict().keys() == plain.state_dict().keys()
    plain.load_state_dict(conv.state_dict())
    x = torch.randn(1, 4, 5, 6, 7).contiguous(memory_format=CL)
    with torch.no_grad():
        inferred = conv(x)
    assert calls, 'no 2D conv ran in inference'
    calls.clear()
    trained = conv(x.requires_grad_())
    assert not calls, 'a 2D conv trained over small frames'
    trained.sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
    torch.testing.assert_close(
        inferred, plain(x).detach(), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    'frame,layout,stride,runs_2d',
    [
        ((32, 32), CL, 1, True),  # 1024 pixels: the 2D conv
        ((16, 64), CL, 1, True),
        ((31, 32), CL, 1, False),  # a smaller frame
        ((32, 32), torch.contiguous_format, 1, False),  # T cannot join N
        ((32, 32), CL, (1, 2, 2), False),  # strided
    ],
)
def test_a_kernel_flat_along_t_trains_over_large_frames_as_a_2d_conv(
    frame, layout, stride, runs_2d, calls
):
    """In training a ``1xkxk`` kernel runs as a 2D conv over the frames
    where they have at least TRAIN_MIN_FRAME pixels (in
    ``channels_last_3d``, unit stride); output and input, weight and bias
    gradients equal ``nn.Conv3d``'s either way, and so does the layout."""
    torch.manual_seed(0)
    assert frame[0] * frame[1] >= flat_conv.TRAIN_MIN_FRAME or not runs_2d
    conv = FlatConv3d(5, 6, (1, 3, 3), stride, padding=(0, 1, 1))
    plain = nn.Conv3d(5, 6, (1, 3, 3), stride, padding=(0, 1, 1))
    plain.load_state_dict(conv.state_dict())
    x = torch.randn(2, 5, 3, *frame)
    fast_input = x.clone(memory_format=layout).requires_grad_()
    y = conv(fast_input, relu=True)
    assert bool(calls) == runs_2d
    assert y.is_contiguous(memory_format=layout)
    plain_input = x.clone().requires_grad_()
    expected = F.relu(plain(plain_input))
    assert (expected == 0).any() and (expected > 0).any()
    assert_trains_alike((conv, fast_input, y), (plain, plain_input, expected))


@pytest.mark.parametrize('kernel', [(3, 1, 1), (1, 1, 1)])
def test_a_kernel_flat_along_h_and_w_trains_through_the_view_on_one_thread(
    kernel, threads, calls
):
    """On one thread PyTorch runs such a conv (kx1x1, 1x1x1) on its own
    unvectorised kernel, which returns the default layout; FlatConv3d then
    trains it through the 2D view. Both ways give the 3D conv's output and
    gradients, in ``channels_last_3d``."""
    torch.manual_seed(0)
    padding = tuple(k // 2 for k in kernel)
    conv = FlatConv3d(6, 5, kernel, padding=padding)
    plain = nn.Conv3d(6, 5, kernel, padding=padding)
    plain.load_state_dict(conv.state_dict())
    x, upstream = torch.randn(2, 6, 4, 5, 3), torch.randn(2, 5, 4, 5, 3)
    fast_input = x.contiguous(memory_format=CL).requires_grad_()
    y = conv(fast_input)
    assert bool(calls) == (threads == 1)
    assert y.is_contiguous(memory_format=CL)
    plain_input = x.clone().requires_grad_()
    assert_trains_alike(
        (conv, fast_input, y),
        (plain, plain_input, plain(plain_input)),
        upstream,
    )


@pytest.fixture
def onednn_calls(monkeypatch):
    """A list that gets an entry for every direct call of oneDNN's conv."""
    return count_calls(monkeypatch, torch, 'mkldnn_convolution')


@pytest.mark.parametrize('kernel', [(3, 3, 3), (3, 3, 1), (1, 1, 1)])
@pytest.mark.parametrize('grad', [True, False])
def test_one_small_sample_runs_in_onednn(kernel, grad, onednn_calls):
    """PyTorch runs a conv of one sample whose N·C·T·H is at most 20,480 on
    its unvectorised kernel, which returns the default layout; FlatConv3d
    (in training, and in inference where no flat view fits) calls oneDNN's
    conv instead: the 3D conv's output and gradients, in
    ``channels_last_3d``. Two samples take PyTorch's own path."""
    torch.manual_seed(0)
    padding = tuple(k // 2 for k in kernel)
    conv = FlatConv3d(6, 5, kernel, padding=padding, stride=(1, 2, 1))
    plain = nn.Conv3d(6, 5, kernel, padding=padding, stride=(1, 2, 1))
    plain.load_state_dict(conv.state_dict())
    x, upstream = torch.randn(1, 6, 4, 5, 3), torch.randn(1, 5, 4, 3, 3)
    fast_input = x.clone(memory_format=CL).requires_grad_()
    with torch.set_grad_enabled(grad):
        y = conv(fast_input)
    assert onednn_calls
    assert y.is_contiguous(memory_format=CL)
    plain_input = x.clone().requires_grad_()
    expected = plain(plain_input)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)
    if grad:
        y.backward(upstream)
        expected.backward(upstream)
        for ours, theirs in (
            (fast_input.grad, plain_input.grad),
            (conv.weight.grad, plain.weight.grad),
        ):
            torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
    onednn_calls.clear()
    conv(torch.cat([fast_input, fast_input]).contiguous(memory_format=CL))
    assert not onednn_calls


def test_a_one_channel_input_follows_the_weights_layout(onednn_calls):
    """A one-channel input is in both layouts, and a conv follows its
    weight's: with ``channels_last_3d`` weights the small sample runs in
    oneDNN in that layout; with default ones, PyTorch's path is left."""
    torch.manual_seed(0)
    conv = FlatConv3d(1, 4, 3, padding=1)
    x = torch.randn(1, 1, 4, 5, 3)
    assert not conv(x).is_contiguous(memory_format=CL)
    assert not onednn_calls
    expected = conv(x)
    conv.to(memory_format=CL)
    y = conv(x)
    assert onednn_calls and y.is_contiguous(memory_format=CL)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)


def test_a_pmscn_unit_at_batch_1_keeps_channels_last_3d():
    """The streams' outputs must share strides, or their concatenation
    falls back to the default layout (and every later layer reorders)."""
    torch.manual_seed(0)
    unit = PmSCn(8, 8, m=2, n=2).eval().to(memory_format=CL)
    x = torch.randn(1, 8, 4, 5, 6).contiguous(memory_format=CL)
    expected = unit(x).detach()  # a gradient is recorded: the 3D convs
    with torch.no_grad():
        fast = unit(x)
    assert fast.is_contiguous(memory_format=CL)
    torch.testing.assert_close(fast, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kernel', FLAT + [(3, 3, 3)])
@pytest.mark.parametrize('axes', list(itertools.permutations(range(3))))
def test_an_input_in_another_axis_order_gives_the_output_in_that_order(
    kernel, axes
):
    torch.manual_seed(0)
    conv = FlatConv3d(
        4,
        5,
        kernel,
        stride=(1, 2, 1),
        padding=tuple(k // 2 for k in kernel),
        dilation=(2, 1, 1),
        bias=True,
    )
    x = torch.randn(2, 4, 6, 7, 8).contiguous(memory_format=CL)
    order = (0, 1, *(2 + a for a in axes))
    back = [order.index(i) for i in range(5)]
    upstream = torch.randn(conv(x).shape)
    outputs, grads = [], []
    for reorder in (False, True):
        given = x.detach().requires_grad_()
        conv.zero_grad()
        if reorder:
            y = conv(given.permute(order), axes=axes).permute(back)
        else:
            y = conv(given)
        y.backward(upstream)
        outputs.append(y)
        grads.append((given.grad, conv.weight.grad, conv.bias.grad))
    torch.testing.assert_close(outputs[1], outputs[0], rtol=1e-5, atol=1e-5)
    for reordered, plain in zip(grads[1], grads[0]):
        torch.testing.assert_close(reordered, plain, rtol=1e-4, atol=1e-4)
    with torch.no_grad():  # inference may take the 2D view on that order
        torch.testing.assert_close(
            conv(x.permute(order), axes=axes, relu=True),
            F.relu(outputs[0].detach()).permute(order),
            rtol=1e-5,
            atol=1e-5,
        )


def test_another_axis_order_needs_zero_padding_given_as_numbers():
    conv = FlatConv3d(2, 2, (3, 3, 1), padding='same')
    with pytest.raises(ValueError, match="axes=\\(2, 0, 1\\).*'same'"):
        conv(torch.randn(1, 2, 3, 4, 5), axes=(2, 0, 1))
    assert conv(torch.randn(1, 2, 3, 4, 5)).shape == (1, 2, 3, 4, 5)
