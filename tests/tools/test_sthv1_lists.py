"""Something-Something V1 end to end: cakes_mm.datasets.sthv1_lists and
tools/data/sthv1/build_file_list.py on the official CSV layout, then one
training iteration through the sthv1 dataset base config with only the
paths overridden."""

import os
import shutil

import pytest
from tool_helpers import REPO, run_tool, write_frames, write_lines

from cakes_mm.datasets import BadAnnotationError
from cakes_mm.datasets.sthv1_lists import (
    FrameReport,
    sthv1_frame_lists,
    write_frame_lists,
)

TOOL = 'data/sthv1/build_file_list.py'

CLASSES = [f'Pushing something {i} times' for i in range(174)]
TRAIN = [
    '1001;Pushing something 2 times',
    '1002;Pushing something 4 times',
    '1003;Pushing something 30 times',
    '1004;Pushing something 0 times',
    '1005;Pushing something 1 times',
]
VAL = ['2001;Pushing something 41 times', '2002;Pushing something 173 times']

MODEL_CONFIG = """
_base_ = ['@REPO@/configs/_base_/models/cakes_r50.py',
          'cakes_mm::_base_/datasets/sthv1-rgb_rawframes_u8.py',
          'mmaction::_base_/default_runtime.py']
model = dict(backbone=dict(arch='uniform', op_set=['1xkxk', 'kx1x1'],
                           base_channels=8),
             cls_head=dict(in_channels=256))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.001, momentum=0.9))
default_hooks = dict(logger=dict(interval=1))
"""


def official_layout(root, missing=(), empty=()):
    """The official CSVs in root/annotations, frames in root/rawframes."""
    annotations = root / 'annotations'
    annotations.mkdir()
    write_lines(
        str(annotations / 'something-something-v1-labels.csv'), CLASSES
    )
    write_lines(str(annotations / 'something-something-v1-train.csv'), TRAIN)
    write_lines(
        str(annotations / 'something-something-v1-validation.csv'), VAL
    )
    for line in TRAIN + VAL:
        video = line.split(';')[0]
        if video in missing:
            continue
        folder = root / 'rawframes' / video
        folder.mkdir(parents=True)
        if video not in empty:
            write_frames(
                str(folder),
                10 + int(video) % 7,
                int(video),
                filename_tmpl='{:05}.jpg',
                size=(64, 48),
            )
    return str(annotations), str(root / 'rawframes')


def test_lists_count_frames_and_leave_bad_folders_out(tmp_path):
    annotations, frames = official_layout(
        tmp_path, missing=('1004',), empty=('1005',)
    )
    os.remove(os.path.join(frames, '1003', '00005.jpg'))
    found = sthv1_frame_lists(annotations, frames)
    assert found.lists == {
        'train': ['1001 10 2', '1002 11 4', '1003 4 30'],
        'val': ['2001 16 41', '2002 10 173'],
    }
    assert found.totals == {'train': 5, 'val': 2}
    assert found.report == FrameReport(['1004'], ['1005'], [('1003', 4)])
    out = str(tmp_path / 'lists')
    os.mkdir(out)
    paths = write_frame_lists(found.lists, out)
    assert paths == [
        os.path.join(out, 'sthv1_train_list_rawframes.txt'),
        os.path.join(out, 'sthv1_val_list_rawframes.txt'),
    ]
    with open(paths[1]) as file:
        assert file.read() == '2001 16 41\n2002 10 173\n'


def test_the_tool_names_bad_folders(tmp_path):
    annotations, frames = official_layout(
        tmp_path, missing=('1004',), empty=('1005',)
    )
    os.remove(os.path.join(frames, '1003', '00005.jpg'))
    result = run_tool([TOOL, annotations, frames], str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    train = (tmp_path / 'sthv1_train_list_rawframes.txt').read_text()
    assert train.splitlines() == ['1001 10 2', '1002 11 4', '1003 4 30']
    assert '1 missing frame folders (left out):\n  1004' in result.stderr
    assert '1 empty frame folders (left out):\n  1005' in result.stderr
    assert '1003: 4 frames' in result.stderr
    assert 'sthv1_train_list_rawframes.txt: 3 of 5 videos' in result.stdout


@pytest.mark.parametrize(
    'name, lines, message',
    [
        (
            'something-something-v1-train.csv',
            ['1001;No such class'] + TRAIN,
            r"train.csv, line 1: unknown class 'No such class'",
        ),
        (
            'something-something-v1-validation.csv',
            VAL + ['2003;a;b'],
            r'validation.csv, line 3: expected 2 fields',
        ),
        (
            'something-something-v1-labels.csv',
            CLASSES + [CLASSES[3]],
            r"labels.csv, line 175: class 'Pushing something 3 times' is listed "
            r'twice',
        ),
    ],
)
def test_bad_csv_lines_are_named(tmp_path, name, lines, message):
    annotations, frames = official_layout(tmp_path)
    write_lines(os.path.join(annotations, name), lines)
    with pytest.raises(BadAnnotationError, match=message):
        sthv1_frame_lists(annotations, frames)


def test_no_frames_at_all_is_an_error_and_writes_nothing(tmp_path):
    annotations, frames = official_layout(tmp_path)
    shutil.rmtree(frames)
    os.mkdir(frames)
    result = run_tool([TOOL, annotations, frames], str(tmp_path))
    assert result.returncode == 1
    assert 'none of the videos has frames' in result.stderr
    assert not (tmp_path / 'sthv1_train_list_rawframes.txt').exists()


@pytest.mark.slow
def test_sthv1_base_config_trains_with_only_paths_overridden(tmp_path):
    annotations, frames = official_layout(tmp_path)
    result = run_tool([TOOL, annotations, frames], str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    config = tmp_path / 'sthv1_tiny.py'
    config.write_text(MODEL_CONFIG.replace('@REPO@', REPO))
    paths = []
    for split, loader in (
        ('train', 'train_dataloader'),
        ('val', 'val_dataloader'),
    ):
        paths += [
            f'{loader}.dataset.ann_file='
            f'{tmp_path}/sthv1_{split}_list_rawframes.txt',
            f'{loader}.dataset.data_prefix.img={frames}',
        ]
    result = run_tool(
        [
            'train.py',
            str(config),
            '--work-dir',
            'work',
            '--cfg-options',
            *paths,
        ],
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Epoch(train) [1][1/1]' in log
    assert 'Epoch(val) [1][1/1]    acc/top1' in log
    assert os.path.isfile(tmp_path / 'work' / 'epoch_1.pth')
