"""CheckedRawframeDataset: bad annotation lines and short frame folders."""

import os
import os.path as osp

import pytest
from mmengine.registry import init_default_scope
from tool_helpers import FRAME_TMPL, write_lines, write_rawframe_dataset

from cakes_mm.datasets import (
    BadAnnotationError,
    BadSampleError,
    CheckedRawframeDataset,
)

PIPELINE = [
    dict(type='UniformSample', clip_len=4, num_clips=1, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]


def build(ann_file, root, dataset_class=CheckedRawframeDataset, **kwargs):
    """The dataset over ``root/frames``."""
    init_default_scope('mmaction')  # earlier tests may switch scope
    return dataset_class(
        ann_file=ann_file,
        pipeline=PIPELINE,
        data_prefix=dict(img=osp.join(root, 'frames')),
        filename_tmpl=FRAME_TMPL,
        test_mode=True,
        **kwargs,
    )


def test_good_dataset_loads(tmp_path):
    ann = write_rawframe_dataset(str(tmp_path), [0, 2])
    dataset = build(ann, str(tmp_path), num_classes=3)
    sample = dataset[1]
    assert sample['inputs'].shape == (1, 3, 4, 32, 40)
    assert sample['data_samples'].gt_label.item() == 2
    assert dataset.get_data_info(0)['ann_line'] == f'{ann}, line 1'


@pytest.mark.parametrize(
    'line, message',
    [
        ('vid0 6', r'line 2: expected 3 fields'),
        ('vid0 6 1 2', r'line 2: expected 3 fields'),
        ('vid0 six 1', r"line 2: total_frames must be an integer, got 'six'"),
        ('vid0 0 1', r'line 2: total_frames must be at least 1'),
        ('vid0 6 3', r'line 2: label 3 is outside the 3 classes'),
    ],
)
def test_bad_line_is_named(tmp_path, line, message):
    write_rawframe_dataset(str(tmp_path), [0])
    ann = write_lines(str(tmp_path / 'bad.txt'), ['vid0 6 0', line])
    with pytest.raises(BadAnnotationError, match=message):
        build(ann, str(tmp_path), num_classes=3)


def test_offsets_and_multiple_labels_are_parsed(tmp_path):
    write_rawframe_dataset(str(tmp_path), [0])
    ann = write_lines(str(tmp_path / 'multi.txt'), ['vid0 1 4 0 2'])
    dataset = build(
        ann, str(tmp_path), with_offset=True, multi_class=True, num_classes=3
    )
    info = dataset.get_data_info(0)
    assert (info['offset'], info['total_frames']) == (1, 4)
    assert info['label'].tolist() == [1.0, 0.0, 1.0]


def test_short_frame_folder_is_named(tmp_path):
    write_rawframe_dataset(str(tmp_path), [0])
    os.remove(osp.join(tmp_path, 'frames', 'vid0', FRAME_TMPL.format(6)))
    dataset = build(
        write_lines(str(tmp_path / 'ann.txt'), ['vid0 6 0']), str(tmp_path)
    )
    with pytest.raises(
        BadSampleError,
        match=r'vid0: has 5 of the 6 frames .*ann.txt, line 1'
        r' lists',
    ) as info:
        dataset[0]
    assert info.value.__cause__ is None


def test_missing_frame_folder_is_named(tmp_path):
    write_rawframe_dataset(str(tmp_path), [0])
    ann = write_lines(str(tmp_path / 'ann.txt'), ['vid0 6 0', 'gone 6 1'])
    with pytest.raises(
        BadSampleError,
        match=r'gone: frames folder not found'
        r'; listed at .*ann.txt, line 2',
    ):
        build(ann, str(tmp_path))[1]


def test_unreadable_frame_is_named(tmp_path):
    write_rawframe_dataset(str(tmp_path), [0])
    os.remove(osp.join(tmp_path, 'frames', 'vid0', FRAME_TMPL.format(3)))
    dataset = build(
        write_lines(str(tmp_path / 'ann.txt'), ['vid0 6 0']), str(tmp_path)
    )
    with pytest.raises(
        BadSampleError, match=r'vid0: RawFrameDecode cannot read it'
    ):
        dataset[0]


class Skipping(CheckedRawframeDataset):
    """Overrides the bad-sample hook as an opt-in skip would."""

    skipped = []

    def on_bad_sample(self, idx, error):
        self.skipped.append((idx, str(error)))


def test_bad_sample_goes_through_one_hook(tmp_path):
    write_rawframe_dataset(str(tmp_path), [0])
    ann = write_lines(str(tmp_path / 'ann.txt'), ['vid0 6 0', 'gone 6 1'])
    dataset = build(ann, str(tmp_path), dataset_class=Skipping)
    assert dataset.prepare_data(1) is None
    assert dataset.skipped[0][0] == 1 and 'gone' in dataset.skipped[0][1]
