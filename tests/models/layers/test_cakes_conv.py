import pytest
import torch
from model_helpers import assert_every_parameter_learns

from cakes_mm.models.layers.cakes_conv import CAKESConv3d, gather_channels
from cakes_mm.models.layers.p3d_conv import P3DConv3d
from cakes_mm.models.layers.sub_kernels import SUB_KERNEL_NAMES


@pytest.mark.parametrize('name', SUB_KERNEL_NAMES)
def test_every_sub_kernel_keeps_the_size_and_strides_in_space(name):
    conv = CAKESConv3d(
        4,
        {name: 3, 'kxkxk': 2} if name != 'kxkxk' else {name: 5},
        stride=(1, 2, 2),
    )
    x = torch.randn(2, 4, 5, 8, 8, requires_grad=True)
    out = conv(x)
    assert out.shape == (2, 5, 5, 4, 4)
    # An int stride strides every axis, as nn.Conv3d's does.
    assert CAKESConv3d(4, conv.choice, stride=2)(x).shape == (2, 5, 3, 4, 4)
    assert_every_parameter_learns(conv, lambda: conv(x).sum())


def test_channels_come_out_in_choice_order():
    conv = CAKESConv3d(3, {'kx1x1': 2, '1xkxk': 3})
    x = torch.randn(1, 3, 4, 6, 6)
    out = conv(x)
    torch.testing.assert_close(out[:, :2], conv.convs['kx1x1'](x))
    torch.testing.assert_close(out[:, 2:], conv.convs['1xkxk'](x))


def test_zero_count_ops_build_nothing_and_uniform_splits():
    conv = CAKESConv3d(3, {'kxkxk': 0, '1xkxk': 4})
    assert list(conv.convs) == ['1xkxk']
    assert conv(torch.randn(1, 3, 2, 4, 4)).shape[1] == 4
    uniform = CAKESConv3d.uniform(3, 7, ['kxkxk', '1xkxk', 'kx1x1'])
    assert uniform.choice == {'kxkxk': 3, '1xkxk': 2, 'kx1x1': 2}


def test_bad_arguments():
    with pytest.raises(ValueError, match='unknown sub-kernel'):
        CAKESConv3d(3, {'kxk': 4})
    with pytest.raises(ValueError, match='kernel_size must be odd'):
        CAKESConv3d(3, {'kxkxk': 4}, kernel_size=4)
    with pytest.warns(DeprecationWarning, match='use kernel_size='):
        assert CAKESConv3d(3, {'kxkxk': 4}, kernel=5).kernel_size == 5


def test_p3d_inflation_starts_as_the_2d_conv_on_any_clip():
    weight2d = torch.randn(5, 5, 3, 3)
    conv = P3DConv3d(5, 5)
    conv.inflate_from_2d(weight2d)
    x = torch.randn(1, 5, 4, 6, 6)
    frames = torch.nn.functional.conv2d(
        x.transpose(1, 2).reshape(4, 5, 6, 6), weight2d, padding=1
    )
    torch.testing.assert_close(
        conv(x),
        frames.reshape(1, 4, 5, 6, 6).transpose(1, 2),
        rtol=1e-4,
        atol=1e-5,
    )
    with pytest.raises(ValueError, match='C_in == C_out'):
        P3DConv3d(5, 6).inflate_from_2d(torch.randn(6, 5, 3, 3))


@pytest.mark.parametrize(
    'shape,layout',
    [
        ((2, 6, 3, 4, 5), torch.channels_last_3d),
        ((2, 6, 4, 5), torch.channels_last),
        ((2, 6, 3, 4, 5), torch.contiguous_format),
    ],
)
def test_gather_channels_is_index_select_in_the_inputs_layout(shape, layout):
    """A permutation of the channels, forward and backward, equal to
    ``index_select``'s, and the output keeps a channels-last layout, which
    ``index_select`` drops."""
    torch.manual_seed(0)
    order = torch.randperm(shape[1])
    x = torch.randn(shape)
    ours = x.clone(memory_format=layout).requires_grad_()
    theirs = x.clone().requires_grad_()
    y, expected = gather_channels(ours, order), theirs.index_select(1, order)
    assert torch.equal(y, expected)
    assert y.is_contiguous(memory_format=layout)
    upstream = torch.randn(shape).contiguous(memory_format=layout)
    y.backward(upstream)
    expected.backward(upstream)
    assert torch.equal(ours.grad, theirs.grad)


def test_a_permuted_cakes_conv_keeps_channels_last_3d():
    """A CAKES conv whose channels are placed by ``channel_order`` gives a
    ``channels_last_3d`` input's output in that layout, equal to NCDHW's."""
    torch.manual_seed(0)
    conv = CAKESConv3d(
        4, {'kxkxk': 3, '1xkxk': 3}, channel_order=[5, 0, 3, 1, 4, 2]
    )
    assert conv.gather_cpu is not None
    x = torch.randn(2, 4, 3, 6, 6)
    y = conv(x.contiguous(memory_format=torch.channels_last_3d))
    assert y.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(y, conv(x), rtol=1e-5, atol=1e-5)
