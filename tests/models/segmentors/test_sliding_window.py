"""The sliding window: a stride in voxels is MONAI's step exactly, and
blending windows of a per-voxel network changes nothing."""

import pytest
import torch
import torch.nn as nn

from cakes_mm.models.segmentors import SlidingWindow, stride_to_overlap


class CountingNet(nn.Module):
    """A 1x1x1 conv that records the shape of every window it sees."""

    def __init__(self, in_channels=1, out_channels=2):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, 1)
        self.windows = []

    def forward(self, x):
        self.windows.extend([tuple(x.shape[2:])] * x.shape[0])
        return self.conv(x)


@pytest.mark.parametrize(
    'roi,stride',
    [
        (96, 32),
        (96, 20),
        (64, 20),
        (32, 16),
        (17, 5),
        (7, 3),
        (96, 1),
        (10, 10),
    ],
)
def test_stride_is_monai_step_exactly(roi, stride):
    # MONAI steps by int(roi * (1 - overlap)); check it for every axis.
    overlap = stride_to_overlap((roi, roi, roi), stride)
    assert all(0 <= value < 1 for value in overlap)
    assert [int(roi * (1 - value)) for value in overlap] == [stride] * 3


def test_windows_cover_the_volume_at_the_paper_stride():
    # 96x96x64 windows at stride 20 (the NIH setting) over 136x116x64:
    # (136 - 96) / 20 + 1 = 3, (116 - 96) / 20 + 1 = 2, and 1 windows.
    net = CountingNet()
    window = SlidingWindow(roi_size=(96, 96, 64), stride=20, sw_batch_size=4)
    out = window(net, torch.randn(1, 1, 136, 116, 64))
    assert out.shape == (1, 2, 136, 116, 64)
    assert net.windows == [(96, 96, 64)] * 6


def test_blended_windows_of_a_per_voxel_net_equal_one_pass():
    net = CountingNet()
    volume = torch.randn(1, 1, 40, 36, 33)
    whole = net(volume)
    for mode in ('constant', 'gaussian'):
        window = SlidingWindow(
            roi_size=16, stride=8, sw_batch_size=3, mode=mode
        )
        torch.testing.assert_close(window(net, volume), whole)


def test_no_window_is_one_pass():
    net = CountingNet()
    volume = torch.randn(1, 1, 9, 10, 11)
    assert torch.equal(SlidingWindow()(net, volume), net(volume))
    assert net.windows == [(9, 10, 11)] * 2


def test_overlap_is_passed_through():
    net = CountingNet()
    SlidingWindow(roi_size=8, overlap=0.5)(net, torch.randn(1, 1, 16, 8, 8))
    assert len(net.windows) == 3  # steps of 4 over 16: at 0, 4 and 8


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match='give overlap or stride, not both'):
        SlidingWindow(roi_size=8, overlap=0.5, stride=4)
    with pytest.raises(
        ValueError,
        match=r'stride \(9, 9, 9\) exceeds '
        r'roi_size \(8, 8, 8\)',
    ):
        SlidingWindow(roi_size=8, stride=9)
    with pytest.raises(ValueError, match='overlap and stride need roi_size'):
        SlidingWindow(stride=4)
    with pytest.raises(
        ValueError,
        match=r'test_cfg.roi_size must be a '
        r'positive int or three of them, got \(8, 8\)',
    ):
        SlidingWindow(roi_size=(8, 8))
    with pytest.raises(ValueError, match='sw_batch_size must be >= 1'):
        SlidingWindow(roi_size=8, sw_batch_size=0)
