import pytest
import torch
import torch.nn.functional as F

from cakes_mm.models.backbones.resnet2d_inflation import inflate_like
from cakes_mm.models.layers.cakes_conv import CAKESConv3d
from cakes_mm.models.layers.kernel_shrinking import inflate_kernel
from cakes_mm.models.layers.sub_kernels import SUB_KERNEL_NAMES, kernel_size


def conv2d_per_frame(x, weight):
    """The 2D conv applied to every frame of (N, C, T, H, W)."""
    n, c, t, h, w = x.shape
    frames = x.transpose(1, 2).reshape(n * t, c, h, w)
    out = F.conv2d(frames, weight, padding=weight.shape[-1] // 2)
    return out.reshape(n, t, -1, h, w).transpose(1, 2)


def constant_along_dropped_axes(name, shape=(2, 5, 7, 9, 11)):
    """A random input that is constant in T and along the axes ``name``
    lacks, so that the inflated sub-kernel must reproduce the 2D conv."""
    n, c, t, h, w = shape
    _, kh, kw = kernel_size(name)
    x = torch.randn(n, c, 1, h if kh > 1 else 1, w if kw > 1 else 1)
    return x.expand(n, c, t, h, w).contiguous()


@pytest.mark.parametrize('name', SUB_KERNEL_NAMES)
def test_inflated_sub_kernel_reproduces_the_2d_conv(name):
    weight2d = torch.randn(6, 5, 3, 3)
    conv = CAKESConv3d(5, {name: 6})
    conv.inflate_from_2d(weight2d)
    x = constant_along_dropped_axes(name)
    ours = conv(x)[:, :, 1:-1, 1:-1, 1:-1]
    reference = conv2d_per_frame(x, weight2d)[:, :, 1:-1, 1:-1, 1:-1]
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)


def test_groups_take_the_2d_filters_in_arch_order():
    weight2d = torch.randn(9, 4, 3, 3)
    choice = {'kx1x1': 2, 'kxkxk': 4, '1xkxk': 3}
    conv = CAKESConv3d(4, choice)
    conv.inflate_from_2d(weight2d)
    # Uniform in T, H and W: every sub-kernel must match its 2D filters.
    x = torch.randn(1, 4, 1, 1, 1).expand(1, 4, 5, 6, 6).contiguous()
    ours = conv(x)[:, :, 1:-1, 1:-1, 1:-1]
    reference = conv2d_per_frame(x, weight2d)[:, :, 1:-1, 1:-1, 1:-1]
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        conv.convs['kxkxk'].weight[:, :, 0] * 3, weight2d[2:6]
    )


def test_mean_mode_divides_by_the_reduced_taps():
    weight2d = torch.randn(3, 2, 3, 3)
    assert torch.allclose(
        inflate_kernel(weight2d, 'kx1x1', 'mean') * 9,
        inflate_kernel(weight2d, 'kx1x1', 'sum'),
    )
    assert torch.allclose(
        inflate_kernel(weight2d, '1xkx1', 'mean') * 3,
        inflate_kernel(weight2d, '1xkx1', 'sum'),
    )
    # 2D and 3D sub-kernels drop no spatial axis: the mode does not matter.
    assert torch.equal(
        inflate_kernel(weight2d, 'kxkxk', 'mean'),
        inflate_kernel(weight2d, 'kxkxk', 'sum'),
    )


def test_kernel_rules_and_shapes():
    weight2d = torch.randn(3, 2, 3, 3)
    assert inflate_kernel(weight2d, '1xkxk').shape == (3, 2, 1, 3, 3)
    assert torch.equal(inflate_kernel(weight2d, '1xkxk')[:, :, 0], weight2d)
    spatial_sum = weight2d.sum(dim=(2, 3))
    one_d = inflate_kernel(weight2d, 'kx1x1')
    assert one_d.shape == (3, 2, 3, 1, 1)
    assert torch.allclose(one_d[:, :, 1, 0, 0], spatial_sum / 3)
    assert inflate_like(torch.randn(4, 3, 7, 7), (4, 3, 1, 7, 7)).shape == (
        4,
        3,
        1,
        7,
        7,
    )
    with pytest.raises(ValueError, match='cannot inflate'):
        inflate_like(torch.randn(4, 3, 7, 7), (4, 3, 1, 5, 5))
    with pytest.raises(ValueError, match='inflate mode must be one of'):
        inflate_kernel(weight2d, 'kx1x1', 'median')
    with pytest.raises(ValueError, match='do not cover the 3 filters'):
        CAKESConv3d(2, {'kx1x1': 2}).inflate_from_2d(weight2d)
