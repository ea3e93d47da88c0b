import copy

import pytest
import torch
import torch.nn as nn
from mmaction.models.common import Conv2plus1d
from model_helpers import assert_every_parameter_learns, randomise_norms

from cakes_mm.models import PmSCn
from cakes_mm.models.layers.pmscn import (
    REORDER_MAX_FRAME,
    REORDER_MIN_WIDTH,
    eq5_mid_channels,
    stream_widths,
)

CL = torch.channels_last_3d

# (2D kernel, 1D kernel) of streams 1, 2 and 3 for k = 3, as (T, H, W).
ORIENTATIONS = [
    ((1, 3, 3), (3, 1, 1)),
    ((3, 3, 1), (1, 1, 3)),
    ((3, 1, 3), (1, 3, 1)),
]


def test_eq5_gives_r2plus1d_width():
    assert eq5_mid_channels(64, 64) == 144
    assert Conv2plus1d(64, 64, 3, padding=1).conv_s.out_channels == 144
    assert PmSCn(64, 64).widths == [144]
    # Eq. 5 by hand for 32 -> 64: 64*32*27 / (32*9 + 64*3) = 115.2.
    assert eq5_mid_channels(32, 64) == 115


def test_m1_n1_is_an_r2plus1d_unit():
    r2plus1d = Conv2plus1d(16, 32, 3, stride=(1, 2, 2), padding=1, bias=False)
    unit = PmSCn(16, 32, stride=(1, 2, 2))
    stream = unit.streams[0]
    assert len(unit.streams) == 1 and len(stream.convs2d) == 1
    assert stream.convs2d[0].weight.shape == r2plus1d.conv_s.weight.shape
    assert stream.conv1d.weight.shape == r2plus1d.conv_t.weight.shape
    randomise_norms(r2plus1d)
    stream.convs2d[0].load_state_dict(r2plus1d.conv_s.state_dict())
    stream.norms[0].load_state_dict(r2plus1d.bn_s.state_dict())
    stream.conv1d.load_state_dict(r2plus1d.conv_t.state_dict())
    r2plus1d.eval(), unit.eval()
    x = torch.randn(2, 16, 4, 9, 9)
    torch.testing.assert_close(unit(x), r2plus1d(x))


def test_m1_n1_has_the_params_of_a_3d_conv():
    unit = PmSCn(64, 64)
    convs = sum(
        m.weight.numel() for m in unit.modules() if isinstance(m, nn.Conv3d)
    )
    assert convs == nn.Conv3d(64, 64, 3, bias=False).weight.numel()


@pytest.mark.parametrize('m', [1, 2, 3])
def test_stream_orientations(m):
    unit = PmSCn(8, 12, m=m, n=2)
    assert len(unit.streams) == m
    for stream, (plane, line) in zip(unit.streams, ORIENTATIONS):
        for conv in stream.convs2d:
            assert conv.kernel_size == plane
            assert conv.padding == tuple(k // 2 for k in plane)
        assert stream.conv1d.kernel_size == line
        assert stream.conv1d.padding == tuple(k // 2 for k in line)


def test_orientations_follow_the_kernel_size():
    unit = PmSCn(4, 6, m=3, kernel_size=5)
    assert [
        (s.convs2d[0].kernel_size, s.conv1d.kernel_size) for s in unit.streams
    ] == [
        ((1, 5, 5), (5, 1, 1)),
        ((5, 5, 1), (1, 1, 5)),
        ((5, 1, 5), (1, 5, 1)),
    ]
    assert unit(torch.randn(1, 4, 5, 7, 7)).shape == (1, 6, 5, 7, 7)


def test_streams_split_the_output_first_takes_remainder():
    unit = PmSCn(8, 64, m=3)
    assert [s.conv1d.out_channels for s in unit.streams] == [22, 21, 21]
    assert unit(torch.randn(1, 8, 3, 6, 6)).shape == (1, 64, 3, 6, 6)


def test_each_stream_has_bn_relu_after_every_2d_conv():
    stream = PmSCn(8, 8, m=2, n=3).streams[1]
    assert len(stream.convs2d) == len(stream.norms) == 3
    assert all(isinstance(norm, nn.BatchNorm3d) for norm in stream.norms)
    assert isinstance(stream.act, nn.ReLU)
    # The 1D conv comes last: its output can be negative, unlike a ReLU's.
    assert (stream(torch.randn(1, 8, 3, 5, 5)) < 0).any()


def test_stride_on_the_first_conv_of_every_stream():
    unit = PmSCn(4, 6, stride=(2, 2, 2), m=3, n=2)
    for stream in unit.streams:
        assert stream.convs2d[0].stride == (2, 2, 2)
        assert stream.convs2d[1].stride == (1, 1, 1)
        assert stream.conv1d.stride == (1, 1, 1)
    x = torch.randn(1, 4, 5, 7, 9)
    expected = nn.Conv3d(4, 6, 3, stride=2, padding=1)(x).shape
    assert unit(x).shape == expected == (1, 6, 3, 4, 5)


def test_int_stride_means_every_axis():
    assert PmSCn(4, 4, stride=2).stride == (2, 2, 2)


def test_widths_per_replaced_conv():
    # n = 2 for a pair 32 -> 64 -> 64: M = 115 and 144, halved per stream.
    assert PmSCn(32, 64, m=2, n=2).widths == [57, 72]
    assert stream_widths(32, 64, m=2, n=2, replaces=2) == [57, 72]
    # n = 3 for the same pair: 2D convs 0, 1 stand for conv 0, 2D conv 2
    # for conv 1, each with M * 2 / (3 * 2).
    assert PmSCn(32, 64, m=2, n=3, replaces=2).widths == [38, 38, 48]
    # n = 2 standing for a single conv: both 2D convs share its M.
    assert PmSCn(64, 64, m=1, n=2, replaces=1).widths == [72, 72]


def test_every_stream_has_at_least_one_channel():
    assert eq5_mid_channels(1, 3) == 4
    assert PmSCn(1, 3, m=3).widths == [1]
    assert PmSCn(1, 3, m=3, n=3, replaces=1).widths == [1, 1, 1]


@pytest.mark.parametrize(
    'm, n', [(1, 1), (2, 1), (3, 1), (2, 2), (2, 3), (3, 2)]
)
def test_forward_backward_every_parameter_gets_a_gradient(m, n):
    unit = PmSCn(4, 7, stride=(1, 2, 2), m=m, n=n)
    x = torch.randn(2, 4, 4, 8, 8)
    assert unit(x).shape == (2, 7, 4, 4, 4)
    weights = torch.randn(2, 7, 4, 4, 4)
    assert_every_parameter_learns(unit, lambda: (unit(x) * weights).sum())


def test_streams_train_on_reordered_axes_to_the_same_result():
    """In CPU training on ``channels_last_3d``, streams 2 and 3 run with
    their 1D conv's axis first; outputs, gradients and running statistics
    are those of the plain order, which an NCDHW input keeps."""
    torch.manual_seed(0)
    reordered = PmSCn(48, 48, stride=(1, 2, 1), m=3, n=2)
    assert reordered.widths == [36, 36]
    plain = copy.deepcopy(reordered)
    x = torch.randn(2, 48, 4, 6, 5)
    upstream = torch.randn(2, 48, 4, 3, 5)
    cl_input = x.contiguous(memory_format=CL).requires_grad_()
    assert [s.working_axes(cl_input) for s in reordered.streams] == [
        (0, 1, 2),
        (2, 0, 1),
        (1, 0, 2),
    ]
    ncdhw_input = x.clone().requires_grad_()
    assert {s.working_axes(ncdhw_input) for s in plain.streams} == {(0, 1, 2)}
    y = reordered(cl_input)
    assert y.is_contiguous(memory_format=CL)
    y.backward(upstream)
    expected = plain(ncdhw_input)
    expected.backward(upstream)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        cl_input.grad, ncdhw_input.grad, rtol=1e-4, atol=1e-5
    )
    for (name, p), q in zip(reordered.named_parameters(), plain.parameters()):
        torch.testing.assert_close(
            p.grad, q.grad, rtol=1e-4, atol=1e-4, msg=name
        )
    for a, b in zip(reordered.buffers(), plain.buffers()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_streams_keep_their_axes_where_reordering_was_measured_slower():
    x = torch.randn(1, 48, 3, 4, 5).contiguous(memory_format=CL)
    wide = PmSCn(48, 48, m=2, n=2).streams[1]
    assert wide.working_axes(x.requires_grad_()) == (2, 0, 1)
    with torch.no_grad():  # inference: its flat 2D views are as fast
        assert wide.working_axes(x) == (0, 1, 2)
    narrow = PmSCn(16, 16, m=2, n=2).streams[1]
    assert narrow.convs2d[0].out_channels < REORDER_MIN_WIDTH
    instance = PmSCn(48, 48, m=2, n=2, norm_cfg=dict(type='IN3d')).streams[1]
    x16 = torch.randn(1, 16, 3, 4, 5).contiguous(memory_format=CL)
    assert narrow.working_axes(x16.requires_grad_()) == (0, 1, 2)
    assert instance.working_axes(x) == (0, 1, 2)


def test_stream_1_infers_small_frames_with_time_last_to_the_same_result():
    """In inference, stream 1 runs frames of at most REORDER_MAX_FRAME
    pixels with T last (its 1xkxk convs over rows of frames), larger ones
    in the plain order; both deploy and eval forms give the plain output."""
    torch.manual_seed(0)
    unit = PmSCn(8, 8, m=2, n=2).eval()
    randomise_norms(unit)
    small = torch.randn(2, 8, 5, 8, 8)  # 64 pixels a frame
    assert small.shape[3] * small.shape[4] == REORDER_MAX_FRAME
    large = torch.randn(2, 8, 5, 8, 9)
    stream = unit.streams[0]
    with torch.no_grad():
        expected = unit(small)  # NCDHW: the plain order
        cl_small = small.contiguous(memory_format=CL)
        assert stream.working_axes(cl_small) == (1, 2, 0)
        assert unit.streams[1].working_axes(cl_small) == (0, 1, 2)
        cl_large = large.contiguous(memory_format=CL)
        assert stream.working_axes(cl_large) == (0, 1, 2)
        evaluated = unit(cl_small)
        unit.switch_to_deploy()
        deployed = unit(cl_small)
    for y in (evaluated, deployed):
        assert y.is_contiguous(memory_format=CL)
        torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(m=0), 'm \\(parallel streams\\) must be an int in 1..3'),
        (dict(m=4), 'm \\(parallel streams\\) must be an int in 1..3'),
        (dict(m=2.0), 'm \\(parallel streams\\) must be an int'),
        (dict(n=0), 'n \\(2D convs per stream\\) must be an int >= 1'),
        (dict(n=1, replaces=2), 'replaces must lie in 1..n'),
        (dict(kernel_size=2), 'kernel_size must be odd'),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PmSCn(4, 8, **kwargs)


def test_fewer_output_channels_than_streams():
    with pytest.raises(ValueError, match='C_out >= m'):
        PmSCn(4, 2, m=3)
