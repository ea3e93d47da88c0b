"""EM affinities: the targets of instance labels, segments from affinities
(a round trip), and the AffinitySegmentor's loss and prediction."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from skimage.metrics import variation_of_information

from cakes_mm.models.segmentors import affinity_targets, segment_affinities
from cakes_mm.structures import VolumeSegDataSample

UNET = dict(
    type='monai.networks.nets.BasicUNet',
    spatial_dims=3,
    in_channels=1,
    out_channels=3,
    features=(4, 4, 4, 4, 8, 4),
)


def two_touching_objects():
    """A 4x3x5 volume: ids 7 and 9 touch along W, a background column."""
    labels = torch.zeros(4, 3, 5, dtype=torch.long)
    labels[:, :, :2] = 7
    labels[:, :, 2:4] = 9
    return labels


def test_targets_link_equal_nonzero_neighbours_only():
    labels = two_touching_objects()
    affinities, mask = affinity_targets(labels)
    assert affinities.shape == mask.shape == (3, 4, 3, 5)
    # Along D (axis 0): v = (d, h, w) links to (d - 1, h, w).
    assert affinities[0, 0].sum() == 0  # no neighbour before d = 0
    assert torch.equal(affinities[0, 1:, :, :4], torch.ones(3, 3, 4))
    assert torch.equal(affinities[0, :, :, 4], torch.zeros(4, 3))
    # Along W: inside each object yes, across the contact and into the
    # background no.
    assert affinities[2, 0, 0].tolist() == [0, 1, 0, 1, 0]
    # The mask drops the first slice along each axis, nothing else.
    assert mask[0, 0].sum() == 0 and mask[0, 1:].min() == 1
    assert mask[1, :, 0].sum() == 0 and mask[1, :, 1:].min() == 1
    assert mask[2, :, :, 0].sum() == 0 and mask[2, :, :, 1:].min() == 1


def test_targets_of_a_batch_are_per_volume():
    labels = torch.stack(
        [two_touching_objects(), two_touching_objects().flip(-1)]
    )
    affinities, _ = affinity_targets(labels)
    assert affinities.shape == (2, 3, 4, 3, 5)
    assert torch.equal(affinities[0], affinity_targets(labels[0])[0])
    assert torch.equal(affinities[1], affinity_targets(labels[1])[0])


def test_segments_of_true_affinities_are_the_labels_renamed():
    labels = torch.zeros(6, 5, 7, dtype=torch.long)
    labels[:3] = 4
    labels[3:, :, :4] = 2
    labels[3:, :, 4:] = 8  # touches 2
    labels[0, 0, 0] = 0  # a background voxel
    affinities, _ = affinity_targets(labels)
    segments = segment_affinities(affinities.numpy())
    assert segments.dtype == np.int64
    assert sorted(np.unique(segments)) == [0, 1, 2, 3]
    assert variation_of_information(labels.numpy(), segments).tolist() == [
        0,
        0,
    ]
    # Numbered by their first voxel in C order.
    assert segments[0, 0, 1] == 1 and segments[3, 0, 0] == 2


def test_low_affinities_split_and_isolated_voxels_are_background():
    affinities = np.zeros((3, 1, 1, 4))
    affinities[2, 0, 0, 1] = 0.9  # links w=0 and w=1
    affinities[2, 0, 0, 3] = 0.5  # w=2 and w=3, not above 0.5
    assert segment_affinities(affinities).tolist() == [[[1, 1, 0, 0]]]
    assert segment_affinities(affinities, threshold=0.4).tolist() == [
        [[1, 1, 2, 2]]
    ]
    with pytest.raises(
        ValueError,
        match=r'affinities must be \[3, D, H, '
        r'W\], got \[2, 1, 1, 4\]',
    ):
        segment_affinities(affinities[:2])


def affinity_model(**kwargs):
    return MODELS.build(dict(type='AffinitySegmentor', network=UNET, **kwargs))


def test_loss_is_bce_over_the_existing_affinities():
    model = affinity_model(pos_weight=2.0)
    labels = torch.zeros(2, 1, 32, 32, 32, dtype=torch.long)
    labels[0, :, 4:20, 4:20, 4:20] = 3
    labels[1, :, 10:] = 5
    data = model.data_preprocessor(
        dict(
            inputs=[torch.randn(1, 32, 32, 32) for _ in range(2)],
            data_samples=[
                VolumeSegDataSample().set_gt_seg(label) for label in labels
            ],
        ),
        training=True,
    )
    losses = model(**data, mode='loss')
    assert list(losses) == ['loss_affinity']
    logits = model.network(data['inputs'])
    affinities, mask = affinity_targets(labels[:, 0])
    per_voxel = F.binary_cross_entropy_with_logits(
        logits, affinities, reduction='none', pos_weight=torch.tensor(2.0)
    )
    # Each axis drops one of its 32 slices.
    assert mask.sum() == 2 * 3 * 31 * 32 * 32
    torch.testing.assert_close(
        losses['loss_affinity'], per_voxel[mask.bool()].mean()
    )


def test_prediction_is_the_segments_of_the_predicted_affinities():
    model = affinity_model(
        threshold=0.3, test_cfg=dict(roi_size=32, stride=16)
    ).eval()
    volume = torch.randn(1, 1, 32, 32, 32)
    sample = model.predict(volume)[0]
    expected = segment_affinities(
        model.network(volume)[0].sigmoid().detach().numpy(), 0.3
    )
    assert sample.pred_seg.dtype == torch.long
    assert np.array_equal(sample.pred_seg[0].numpy(), expected)


def test_wrong_channels_and_threshold_are_named():
    model = MODELS.build(
        dict(type='AffinitySegmentor', network=dict(UNET, out_channels=2))
    ).eval()
    with pytest.raises(
        ValueError,
        match='gives 2 output channels; it must give the 3 affinities',
    ):
        model.predict(torch.randn(1, 1, 32, 32, 32))
    with pytest.raises(ValueError, match=r'threshold must be in \(0, 1\)'):
        affinity_model(threshold=1.0)
