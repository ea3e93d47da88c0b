"""CheckedVideoDataset: bad annotation lines and unreadable videos."""

import os.path as osp

import pytest
from mmengine.registry import init_default_scope
from tool_helpers import write_lines, write_video_dataset

from cakes_mm.datasets import (
    BadAnnotationError,
    BadSampleError,
    CheckedVideoDataset,
)

PIPELINE = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=4, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]


def build(ann_file, root, **kwargs):
    """The dataset over ``root/videos``."""
    init_default_scope('mmaction')  # earlier tests may switch scope
    return CheckedVideoDataset(
        ann_file=ann_file,
        pipeline=PIPELINE,
        data_prefix=dict(video=osp.join(root, 'videos')),
        test_mode=True,
        **kwargs,
    )


def truncate(path):
    """Keep the first half of a file."""
    with open(path, 'rb') as file:
        data = file.read()
    with open(path, 'wb') as file:
        file.write(data[: len(data) // 2])


def test_good_videos_load(tmp_path):
    ann = write_video_dataset(str(tmp_path), [1, 0])
    sample = build(ann, str(tmp_path), num_classes=2)[0]
    assert sample['inputs'].shape == (1, 3, 4, 48, 64)
    assert sample['data_samples'].gt_label.item() == 1


@pytest.mark.parametrize(
    'line, message',
    [
        ('vid0.mp4', r'line 2: expected 2 fields \(filename label\), found 1'),
        ('vid0.mp4 1 1', r'line 2: expected 2 fields'),
        ('vid0.mp4 one', r"line 2: label must be an integer, got 'one'"),
        ('vid0.mp4 2', r'line 2: label 2 is outside the 2 classes'),
        ('vid0.mp4 -1', r'line 2: label must be at least 0, got -1'),
    ],
)
def test_bad_line_is_named(tmp_path, line, message):
    write_video_dataset(str(tmp_path), [0])
    ann = write_lines(str(tmp_path / 'bad.txt'), ['vid0.mp4 0', line])
    with pytest.raises(BadAnnotationError, match=message):
        build(ann, str(tmp_path), num_classes=2)


def test_delimiter_is_respected(tmp_path):
    write_video_dataset(str(tmp_path), [0])
    ann = write_lines(str(tmp_path / 'commas.txt'), ['vid0.mp4,1'])
    dataset = build(ann, str(tmp_path), delimiter=',', num_classes=2)
    assert dataset.get_data_info(0)['label'] == 1


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'delete'])
def test_unreadable_video_is_named(tmp_path, damage):
    ann = write_video_dataset(str(tmp_path), [0, 1])
    path = osp.join(tmp_path, 'videos', 'vid1.mp4')
    if damage == 'truncate':
        truncate(path)
    elif damage == 'garbage':
        with open(path, 'wb') as file:
            file.write(b'not a video' * 100)
    else:
        write_lines(ann, ['vid0.mp4 0', 'vid1_missing.mp4 1'])
        path = path.replace('vid1', 'vid1_missing')
    dataset = build(ann, str(tmp_path))
    assert dataset[0]['inputs'].shape[2] == 4
    with pytest.raises(BadSampleError) as info:
        dataset[1]
    message = str(info.value)
    assert message.startswith(f'{path}: DecordInit cannot read it (')
    assert message.endswith(f'listed at {ann}, line 2')
    assert info.value.__cause__ is None and info.value.__suppress_context__
