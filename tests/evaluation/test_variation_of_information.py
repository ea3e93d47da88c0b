"""VariationOfInformation against entropies counted by hand (bits)."""

import math

import pytest
import torch
from mmaction.registry import METRICS

from cakes_mm.structures import VolumeSegDataSample


def sample(pred, truth):
    """A data sample of two [2, 2, 2] id volumes given as flat lists."""

    def seg(ids):
        return torch.tensor(ids, dtype=torch.long).view(1, 2, 2, 2)

    return VolumeSegDataSample().set_pred_seg(seg(pred)).set_gt_seg(seg(truth))


def evaluate(*samples, **kwargs):
    metric = METRICS.build(dict(type='VariationOfInformation', **kwargs))
    metric.process({}, [s.to_dict() for s in samples])
    return metric.evaluate(len(samples))


TRUTH = [1, 1, 1, 1, 2, 2, 2, 2]


def test_renamed_segments_score_zero():
    assert evaluate(sample([5, 5, 5, 5, 3, 3, 3, 3], TRUTH)) == {
        'vi/split': 0.0,
        'vi/merge': 0.0,
        'vi/total': 0.0,
    }


def test_a_merge_and_a_split_cost_one_bit_each():
    # Two equal objects predicted as one: H(truth | pred) = 1 bit.
    merged = evaluate(sample([1] * 8, TRUTH))
    assert merged['vi/split'] == 0 and merged['vi/merge'] == 1
    # One object cut in halves: H(pred | truth) = 1/2 * 1 bit (the other
    # object, half of the voxels, is whole).
    split = evaluate(sample([1, 1, 3, 3, 2, 2, 2, 2], TRUTH))
    assert split['vi/split'] == 0.5 and split['vi/merge'] == 0


def test_volumes_are_averaged():
    scores = evaluate(
        sample([1] * 8, TRUTH), sample([1, 1, 3, 3, 2, 2, 2, 2], TRUTH)
    )
    assert scores == {'vi/split': 0.25, 'vi/merge': 0.5, 'vi/total': 0.75}


def test_truth_background_is_ignored_unless_asked():
    # The truth's background (0) covers half the volume; the prediction
    # gives it to object 1's segment.
    truth = [0, 0, 0, 0, 1, 1, 2, 2]
    pred = [1, 1, 1, 1, 1, 1, 2, 2]
    assert evaluate(sample(pred, truth))['vi/total'] == 0
    counted = evaluate(sample(pred, truth), ignore_labels=())
    # Segment 1 holds 4 background and 2 object-1 voxels: H(truth | pred)
    # = 6/8 * H(2/3, 1/3).
    third = -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))
    assert counted['vi/merge'] == pytest.approx(6 / 8 * third)
    assert counted['vi/split'] == 0


def test_shapes_must_match():
    bad = (
        VolumeSegDataSample()
        .set_pred_seg(torch.zeros(1, 2, 2, 2, dtype=torch.long))
        .set_gt_seg(torch.zeros(1, 2, 2, 3, dtype=torch.long))
    )
    metric = METRICS.build(dict(type='VariationOfInformation'))
    with pytest.raises(
        ValueError,
        match=r'must both be \[1, D, H, W\], got '
        r'\[1, 2, 2, 2\] and \[1, 2, 2, 3\]',
    ):
        metric.process({}, [bad])
    with pytest.raises(
        KeyError,
        match="VariationOfInformation: a data sample has no 'pred_seg'",
    ):
        metric.process({}, [dict(gt_seg=torch.zeros(1, 2, 2, 2))])
