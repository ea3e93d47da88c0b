"""The synthetic motion dataset: decodable videos whose classes are time
mirrors of each other."""

import os
import os.path as osp

import numpy as np
import pytest

from cakes_mm.demo.synthetic import (
    CLASSES,
    DEMO_CLASS_NAMES,
    generate_dataset,
    read_video,
    render_class,
    render_motion,
    write_video,
)

PAIRS = [
    (forward.name, backward.name)
    for forward in CLASSES
    if not forward.backward
    for backward in CLASSES
    if backward.backward and backward.motion == forward.motion
]


def object_stats(frames: np.ndarray) -> np.ndarray:
    """Per frame: the object's area and centroid (x, y), (T, 3).

    The object is every pixel far from the frame's median colour (the
    background).
    """
    stats = []
    for frame in frames.astype(np.int32):
        background = np.median(frame.reshape(-1, 3), axis=0)
        mask = np.abs(frame - background).max(axis=2) > 40
        ys, xs = np.nonzero(mask)
        stats.append((mask.sum(), xs.mean(), ys.mean()))
    return np.array(stats)


def test_every_motion_has_one_mirror_pair():
    assert sorted(PAIRS) == sorted(
        [
            ('moving right', 'moving left'),
            ('moving down', 'moving up'),
            ('growing', 'shrinking'),
            ('turning clockwise', 'turning anticlockwise'),
        ]
    )


@pytest.mark.parametrize('forward,backward', PAIRS)
def test_backward_class_is_forward_class_reversed(forward, backward):
    frames = render_class(forward, np.random.default_rng(3))
    mirrored = render_class(backward, np.random.default_rng(3))
    assert frames.shape == (16, 64, 64, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(mirrored, frames[::-1])
    assert not np.array_equal(mirrored, frames)  # something moves


def test_render_is_deterministic_and_seed_dependent():
    first = render_motion('scale', np.random.default_rng(5), 8, 32)
    again = render_motion('scale', np.random.default_rng(5), 8, 32)
    other = render_motion('scale', np.random.default_rng(6), 8, 32)
    assert first.shape == (8, 32, 32, 3)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize(
    'name,column,sign',
    [
        ('moving right', 1, 1),
        ('moving left', 1, -1),
        ('moving down', 2, 1),
        ('moving up', 2, -1),
        ('growing', 0, 1),
        ('shrinking', 0, -1),
    ],
)
def test_decoded_motion_goes_the_labelled_way(tmp_path, name, column, sign):
    path = str(tmp_path / 'clip.mp4')
    write_video(path, render_class(name, np.random.default_rng(11)))
    stats = object_stats(read_video(path))
    steps = np.diff(stats[:, column]) * sign
    assert (steps > -0.5).all() and steps.sum() > 8


@pytest.mark.parametrize('forward,backward', PAIRS)
def test_decoded_pair_has_the_same_frames_in_reverse(
    tmp_path, forward, backward
):
    """What a frame-by-frame model sees is the same for both classes."""
    clips = {}
    for name in (forward, backward):
        path = str(tmp_path / f'{name}.mp4')
        write_video(path, render_class(name, np.random.default_rng(7)))
        clips[name] = read_video(path)
    assert clips[forward].shape == (16, 64, 64, 3)
    reversed_backward = clips[backward][::-1]
    stats = object_stats(clips[forward])
    mirror_stats = object_stats(reversed_backward)
    # Areas (column 0) within 10%, centroids within a pixel: the codec
    # compresses the two orders a little differently.
    np.testing.assert_allclose(stats[:, 0], mirror_stats[:, 0], rtol=0.1)
    np.testing.assert_allclose(stats[:, 1:], mirror_stats[:, 1:], atol=1.0)
    np.testing.assert_allclose(
        clips[forward].mean(axis=(1, 2)),
        reversed_backward.mean(axis=(1, 2)),
        atol=1.0,
    )
    # ... while in playing order the two clips differ.
    assert np.abs(stats - object_stats(clips[backward])).max() > 5


def test_generate_dataset_layout_and_decoding(tmp_path):
    root = str(tmp_path / 'data')
    ann_files = generate_dataset(root, dict(train=2, test=1), seed=4)
    assert sorted(ann_files) == ['test', 'train']
    with open(osp.join(root, 'label_map.txt')) as f:
        assert tuple(f.read().splitlines()) == DEMO_CLASS_NAMES
    with open(ann_files['train']) as f:
        lines = f.read().splitlines()
    assert len(lines) == 2 * len(DEMO_CLASS_NAMES)
    assert lines[0] == 'videos/train/0_0000.mp4 0'
    assert (
        lines[-1] == f'videos/train/{len(DEMO_CLASS_NAMES) - 1}_0001.mp4 '
        f'{len(DEMO_CLASS_NAMES) - 1}'
    )
    for line in lines:
        relative, label = line.split()
        frames = read_video(osp.join(root, relative))
        assert frames.shape == (16, 64, 64, 3)
        assert 0 <= int(label) < len(DEMO_CLASS_NAMES)
    assert not any(
        name.endswith('.partial.mp4')
        for name in os.listdir(osp.join(root, 'videos/train'))
    )


def test_generate_dataset_is_deterministic(tmp_path):
    classes = ['moving left', 'growing']
    for folder, seed in (('a', 0), ('b', 0), ('c', 1)):
        generate_dataset(
            str(tmp_path / folder),
            dict(val=1),
            classes,
            num_frames=6,
            size=32,
            seed=seed,
        )
    video = 'videos/val/1_0000.mp4'
    first, again, other = (
        read_video(str(tmp_path / folder / video)) for folder in 'abc'
    )
    assert first.shape == (6, 32, 32, 3)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='multiple of 32'):
        generate_dataset(str(tmp_path), dict(train=1), size=48)
    with pytest.raises(KeyError, match='unknown motion class'):
        generate_dataset(str(tmp_path), dict(train=1), ['moving sideways'])
    with pytest.raises(KeyError, match='unknown splits'):
        generate_dataset(str(tmp_path), dict(training=1))
    with pytest.raises(KeyError, match='unknown motion'):
        render_motion('spin', np.random.default_rng(0))
    with pytest.raises(ValueError, match='multiple of 32'):
        write_video(
            str(tmp_path / 'x.mp4'), np.zeros((2, 48, 48, 3), np.uint8)
        )
    with pytest.raises(ValueError, match='must end in .mp4'):
        write_video(
            str(tmp_path / 'x.avi'), np.zeros((2, 32, 32, 3), np.uint8)
        )
    assert not list(tmp_path.iterdir())
