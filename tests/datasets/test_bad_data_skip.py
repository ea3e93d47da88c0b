"""Bad files during training: ``skip_bad_samples=True`` skips each one
(logged once, naming the file); without it the first one stops the run with
an error naming the file, the sample index and the annotation line.

Faults: a truncated mp4, a zero-byte mp4, a frames folder missing its last
JPEGs, a folder missing a JPEG in the middle, and an unreadable JPEG.
"""

import os
import os.path as osp
import re

import pytest
from mmengine.registry import init_default_scope
from tool_helpers import (
    FRAME_TMPL,
    run_tool,
    write_rawframe_dataset,
    write_tiny_config,
    write_video_dataset,
)

from cakes_mm.datasets import (
    BadSampleError,
    CheckedRawframeDataset,
    CheckedVideoDataset,
    sample_checks,
)

from .test_checked_video_dataset import truncate

RAWFRAME_PIPELINE = [
    dict(type='UniformSample', clip_len=6, num_clips=1),
    dict(type='RawFrameDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
VIDEO_PIPELINE = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=4, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]


def empty(path):
    """Make a file zero bytes long."""
    open(path, 'wb').close()


def frame(root, video, index):
    """Path of a frame of the generated rawframe dataset."""
    return osp.join(root, 'frames', f'vid{video}', FRAME_TMPL.format(index))


def remove_last_frames(root, video):
    """Leave only the first two of the six frames."""
    for index in range(3, 7):
        os.remove(frame(root, video, index))


def remove_middle_frame(root, video):
    os.remove(frame(root, video, 3))


def garble_frame(root, video, index=3):
    with open(frame(root, video, index), 'wb') as file:
        file.write(b'\xff\xd8 not really a JPEG' * 4)


def garble_every_frame(root, video):
    """Training samples frames at random: damage all six, so every draw
    meets an unreadable one."""
    for index in range(1, 7):
        garble_frame(root, video, index)


def damaged_videos(root, damage_by_video):
    """Four videos; ``damage_by_video`` maps an index to a damage."""
    ann = write_video_dataset(str(root), [0, 1, 2, 0])
    for video, damage in damage_by_video.items():
        damage(osp.join(root, 'videos', f'vid{video}.mp4'))
    return ann


def damaged_frames(root, damage_by_video, count=4):
    """``count`` frame folders; ``damage_by_video`` maps index to damage."""
    ann = write_rawframe_dataset(str(root), [i % 3 for i in range(count)])
    for video, damage in damage_by_video.items():
        damage(str(root), video)
    return ann


# The bad sample is always index 1, listed on line 2.
BAD_VIDEO = (
    r'videos/vid1\.mp4: DecordInit cannot read it \(.+\); sample 1, '
    r'listed at .*videos\.txt, line 2$'
)
FAULTS = {
    'truncated mp4': (
        lambda root: damaged_videos(root, {1: truncate}),
        BAD_VIDEO,
    ),
    'zero-byte mp4': (
        lambda root: damaged_videos(root, {1: empty}),
        BAD_VIDEO,
    ),
    'folder missing its last JPEGs': (
        lambda root: damaged_frames(root, {1: remove_last_frames}),
        r'frames/vid1: has 2 of the 6 frames .*ann\.txt, line 2 lists .*; '
        r'sample 1\)$',
    ),
    'folder missing a middle JPEG': (
        lambda root: damaged_frames(root, {1: remove_middle_frame}),
        r'frames/vid1: RawFrameDecode cannot read it \(img_00003\.jpg is '
        r'missing\); sample 1, listed at .*ann\.txt, line 2$',
    ),
    'unreadable JPEG': (
        lambda root: damaged_frames(root, {1: garble_frame}),
        r'frames/vid1: RawFrameDecode cannot read it \(img_00003\.jpg is not '
        r'a readable image \(80 bytes\)\); sample 1, listed at .*ann\.txt, '
        r'line 2$',
    ),
}


def build(root, ann, **kwargs):
    """The checked dataset over what ``ann`` lists, in training mode."""
    init_default_scope('mmaction')
    if ann.endswith('videos.txt'):
        return CheckedVideoDataset(
            ann_file=ann,
            pipeline=VIDEO_PIPELINE,
            data_prefix=dict(video=osp.join(root, 'videos')),
            **kwargs,
        )
    return CheckedRawframeDataset(
        ann_file=ann,
        pipeline=RAWFRAME_PIPELINE,
        filename_tmpl=FRAME_TMPL,
        data_prefix=dict(img=osp.join(root, 'frames')),
        **kwargs,
    )


@pytest.fixture
def warnings(monkeypatch):
    """The messages the datasets log."""
    logged = []
    monkeypatch.setattr(
        sample_checks,
        'print_log',
        lambda message, **kwargs: logged.append(message),
    )
    return logged


@pytest.mark.parametrize('fault', FAULTS)
def test_without_the_option_the_error_names_file_index_and_line(
    tmp_path, fault
):
    make, message = FAULTS[fault]
    dataset = build(str(tmp_path), make(tmp_path))
    assert dataset[0]['inputs'].dim() == 5
    with pytest.raises(BadSampleError) as info:
        dataset[1]
    assert re.search(message, str(info.value)), str(info.value)


@pytest.mark.parametrize('fault', FAULTS)
def test_the_option_skips_and_logs_each_bad_sample_once(
    tmp_path, fault, warnings
):
    make, message = FAULTS[fault]
    dataset = build(str(tmp_path), make(tmp_path), skip_bad_samples=True)
    samples = [dataset[index] for index in [0, 1, 2, 3, 1, 1]]
    assert all(sample['inputs'].dim() == 5 for sample in samples)
    assert len(warnings) == 1
    assert warnings[0].startswith('skip_bad_samples: skipped ')
    assert re.search(message, warnings[0]), warnings[0]
    assert dataset.skipped_samples == {1}


def test_the_option_does_not_drop_test_samples(tmp_path, warnings):
    ann = damaged_videos(tmp_path, {1: empty})
    dataset = build(str(tmp_path), ann, skip_bad_samples=True, test_mode=True)
    with pytest.raises(BadSampleError, match='vid1.mp4'):
        dataset[1]
    assert not warnings


def test_the_option_is_off_by_default(tmp_path):
    dataset = build(str(tmp_path), damaged_videos(tmp_path, {}))
    assert dataset.skip_bad_samples is False


# --------------------------------------------------------------------------
# Training runs through tools/train.py
# --------------------------------------------------------------------------
SKIP = 'train_dataloader = dict(dataset=dict(skip_bad_samples=True))\n'


def train(root, ann, videos, extra='', epochs=1):
    """Train the tiny model on ``ann``; return the finished process."""
    prefix = str(root / ('videos' if videos else 'frames'))
    base = write_tiny_config(
        str(root / 'base.py'), ann, prefix, videos=videos, epochs=epochs
    )
    (root / 'run.py').write_text(f"_base_ = ['{base}']\n{extra}")
    return run_tool(
        ['train.py', str(root / 'run.py'), '--work-dir', 'work'], str(root)
    )


def skip_lines(result):
    return [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if 'skip_bad_samples: skipped' in line
    ]


@pytest.mark.slow
def test_training_on_frames_skips_bad_folders_over_two_epochs(tmp_path):
    ann = damaged_frames(
        tmp_path, {1: garble_every_frame, 4: remove_last_frames}, count=6
    )
    result = train(tmp_path, ann, videos=False, extra=SKIP, epochs=2)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / 'work' / 'epoch_2.pth').exists()
    lines = skip_lines(result)
    assert len(lines) == 2, lines
    assert sum('frames/vid1: RawFrameDecode' in line for line in lines) == 1
    assert sum('frames/vid4: has 2 of the 6' in line for line in lines) == 1


@pytest.mark.slow
def test_training_on_videos_skips_truncated_and_empty_files(tmp_path):
    ann = damaged_videos(tmp_path, {1: truncate, 3: empty})
    result = train(tmp_path, ann, videos=True, extra=SKIP)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = skip_lines(result)
    assert len(lines) == 2, lines
    for video in ('vid1.mp4', 'vid3.mp4'):
        assert sum(video in line for line in lines) == 1


@pytest.mark.slow
def test_training_without_the_option_stops_naming_the_file(tmp_path):
    ann = damaged_videos(tmp_path, {1: truncate, 3: empty})
    result = train(tmp_path, ann, videos=True)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r'error: \S+/vid([13])\.mp4: DecordInit cannot read '
        r'it \(.+\); sample \1, listed at \S+videos\.txt, '
        r'line [24]',
        last,
    ), last
