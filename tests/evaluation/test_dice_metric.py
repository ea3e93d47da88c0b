"""VolumeDiceMetric against Dice counted by hand."""

import math

import pytest
import torch
from mmaction.registry import METRICS

from cakes_mm.evaluation import VolumeDiceMetric
from cakes_mm.structures import VolumeSegDataSample

NAMES = ['background', 'pancreas', 'tumour', 'cyst']


def volume(labelled):
    """A [1, 2, 2, 3] label map: zeros, with ``{(d, h, w): class}``."""
    seg = torch.zeros(1, 2, 2, 3, dtype=torch.long)
    for (d, h, w), value in labelled.items():
        seg[0, d, h, w] = value
    return seg


def sample(pred, truth):
    return (
        VolumeSegDataSample()
        .set_pred_seg(volume(pred))
        .set_gt_seg(volume(truth))
    )


# Case 1: pancreas pred {a, b, c}, truth {b, c, d}: 2*2 / (3 + 3) = 2/3;
#         tumour pred {e}, truth {e, f}: 2*1 / (1 + 2) = 2/3;
#         cyst absent from both.
CASE_1 = sample(
    {(0, 0, 0): 1, (0, 0, 1): 1, (0, 0, 2): 1, (1, 1, 0): 2},
    {(0, 0, 1): 1, (0, 0, 2): 1, (0, 1, 0): 1, (1, 1, 0): 2, (1, 1, 1): 2},
)
# Case 2: pancreas pred {a}, truth {a}: 1; tumour predicted at one voxel
#         but absent from the truth; cyst pred {g}, truth {h}: 0.
CASE_2 = sample(
    {(0, 0, 0): 1, (1, 0, 0): 2, (1, 1, 2): 3}, {(0, 0, 0): 1, (1, 0, 1): 3}
)


def evaluate(metric, *samples):
    metric.process({}, [s.to_dict() for s in samples])
    return metric.evaluate(len(samples))


def test_hand_computed_dice_ignoring_empty_truth():
    result = evaluate(VolumeDiceMetric(class_names=NAMES), CASE_1, CASE_2)
    assert result['dice/pancreas'] == pytest.approx((2 / 3 + 1) / 2)
    # Case 2 has no tumour in its truth: only case 1 counts.
    assert result['dice/tumour'] == pytest.approx(2 / 3)
    # Case 1 has no cyst anywhere: not counted; case 2 scores 0.
    assert result['dice/cyst'] == pytest.approx(0.0)
    assert result['dice/mean'] == pytest.approx(((5 / 6) + (2 / 3) + 0) / 3)
    assert set(result) == {
        'dice/pancreas',
        'dice/tumour',
        'dice/cyst',
        'dice/mean',
    }


def test_hand_computed_dice_counting_empty_truth():
    metric = VolumeDiceMetric(class_names=NAMES, ignore_empty=False)
    result = evaluate(metric, CASE_1, CASE_2)
    # Tumour in case 2: predicted, absent from the truth -> 0.
    assert result['dice/tumour'] == pytest.approx((2 / 3 + 0) / 2)
    # Cyst in case 1: absent from both -> 1.
    assert result['dice/cyst'] == pytest.approx((1 + 0) / 2)


def test_class_absent_everywhere_is_nan_and_left_out_of_the_mean():
    result = evaluate(VolumeDiceMetric(class_names=NAMES), CASE_1)
    assert math.isnan(result['dice/cyst'])
    assert result['dice/mean'] == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_names_come_from_the_dataset_meta():
    metric = METRICS.build(dict(type='VolumeDiceMetric'))
    metric.dataset_meta = dict(classes=('bg', 'organ', 'lesion', 'other'))
    result = evaluate(metric, CASE_1)
    assert result['dice/organ'] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match='needs the class names'):
        VolumeDiceMetric().process({}, [CASE_1.to_dict()])


def test_mismatched_shapes_are_refused():
    bad = dict(pred_seg=volume({}), gt_seg=torch.zeros(1, 2, 2, 2).long())
    with pytest.raises(ValueError, match=r'\[1, 2, 2, 3\] and \[1, 2, 2, 2\]'):
        VolumeDiceMetric(class_names=NAMES).process({}, [bad])


def test_data_sample_refuses_a_wrong_label_map():
    with pytest.raises(TypeError, match='gt_seg must be a LongTensor'):
        VolumeSegDataSample().set_gt_seg(torch.zeros(1, 2, 2, 2))
    with pytest.raises(ValueError, match=r'pred_seg must have shape'):
        VolumeSegDataSample().set_pred_seg(torch.zeros(2, 2, 2).long())
