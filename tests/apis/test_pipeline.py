"""cakes_mm.apis.pipeline: the test pipeline with decoding fitted to the
input; everything else stays the config's."""

import os.path as osp

import pytest
from mmengine.config import Config
from tool_helpers import REPO

from cakes_mm.apis import (
    UnsupportedConfigError,
    config_test_pipeline,
    steps_for_frames,
    steps_for_video,
)

STHV1 = Config.fromfile(
    osp.join(
        REPO,
        'configs',
        'cakes',
        'cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
    )
)
UCF101 = Config.fromfile(
    osp.join(
        REPO, 'configs', 'pmscn', 'p2sc2_r34_8xb8-64x1x1-50e_ucf101-rgb.py'
    )
)
DECODING = ('DecordInit', 'DecordDecode', 'RawFrameDecode')


def types(steps):
    return [step['type'] for step in steps]


def without_decoding(steps):
    return [step for step in steps if step['type'] not in DECODING]


def test_a_frames_config_reads_a_video_with_decord():
    steps = config_test_pipeline(STHV1)
    assert types(steps) == [
        'UniformSample',
        'RawFrameDecode',
        'Resize',
        'CenterCrop',
        'FormatShape',
        'PackActionInputs',
    ]
    video = steps_for_video(steps, STHV1)
    assert types(video) == [
        'DecordInit',
        'UniformSample',
        'DecordDecode',
        'Resize',
        'CenterCrop',
        'FormatShape',
        'PackActionInputs',
    ]
    assert without_decoding(video) == without_decoding(steps)
    assert steps_for_frames(steps, STHV1) == steps


def test_a_video_config_reads_a_frame_folder():
    steps = config_test_pipeline(UCF101)
    frames = steps_for_frames(steps, UCF101)
    assert types(frames) == [
        'SampleFrames',
        'RawFrameDecode',
        'Resize',
        'CenterCrop',
        'FormatShape',
        'PackActionInputs',
    ]
    assert without_decoding(frames) == without_decoding(steps)
    assert frames[0] == dict(
        type='SampleFrames',
        clip_len=64,
        frame_interval=1,
        num_clips=20,
        test_mode=True,
    )
    assert steps_for_video(steps, UCF101) == steps


def test_the_config_is_not_changed():
    steps = config_test_pipeline(STHV1)
    steps_for_video(steps, STHV1)
    assert config_test_pipeline(STHV1) == steps
    steps[0]['clip_len'] = 99
    assert STHV1.test_dataloader.dataset.pipeline[0]['clip_len'] == 8


def test_the_test_loader_pipeline_comes_first():
    cfg = Config(
        dict(
            test_pipeline=[dict(type='A')],
            test_dataloader=dict(dataset=dict(pipeline=[dict(type='B')])),
        )
    )
    assert types(config_test_pipeline(cfg)) == ['B']
    cfg = Config(dict(test_pipeline=[dict(type='A')]))
    assert types(config_test_pipeline(cfg)) == ['A']


def test_scoped_step_types_are_recognised():
    steps = [
        dict(type='mmaction.UniformSample', clip_len=2),
        dict(type='mmaction.RawFrameDecode'),
    ]
    assert types(steps_for_video(steps, STHV1)) == [
        'DecordInit',
        'mmaction.UniformSample',
        'DecordDecode',
    ]


def test_a_config_without_a_test_pipeline(tmp_path):
    path = tmp_path / 'model_only.py'
    path.write_text("model = dict(type='Recognizer3D')\n")
    with pytest.raises(
        UnsupportedConfigError,
        match=r'model_only\.py has no test pipeline '
        r'\(test_dataloader\.dataset\.pipeline or '
        r'test_pipeline\); add one',
    ):
        config_test_pipeline(Config.fromfile(str(path)))


def test_a_pipeline_without_decoding():
    steps = [dict(type='Resize', scale=(-1, 32))]
    for fit in (steps_for_video, steps_for_frames):
        with pytest.raises(
            UnsupportedConfigError,
            match=r'u8-70e_sthv1-rgb\.py: the test pipeline has no decoding step',
        ):
            fit(steps, STHV1)
