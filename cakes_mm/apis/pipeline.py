"""A config's test pipeline, with its decoding fitted to the input.

The sthv1 configs decode folders of JPEG frames (``RawFrameDecode``); the
UCF101 and demo configs decode video files (``DecordInit`` before the
sampler, ``DecordDecode`` after it). For inference on one input, the
decoding steps are swapped to suit it; sampling, resizing, cropping,
formatting and the model's normalisation stay the config's.
"""

import copy
from typing import List, Sequence

from mmengine.config import Config

#: Steps that open a video file and count its frames (before the sampler).
VIDEO_OPENERS = ('DecordInit', 'PyAVInit', 'OpenCVInit', 'PIMSInit')
#: Steps that decode the sampled frames of an opened video.
VIDEO_DECODERS = (
    'DecordDecode',
    'PyAVDecode',
    'OpenCVDecode',
    'PIMSDecode',
    'PyAVDecodeMotionVector',
)
#: Steps that read the sampled frames from a folder of images.
FRAME_DECODERS = ('RawFrameDecode',)
DECODING_STEPS = VIDEO_OPENERS + VIDEO_DECODERS + FRAME_DECODERS


class UnsupportedConfigError(ValueError):
    """A config whose test pipeline cannot be run on a video or folder."""


def step_type(step: dict) -> str:
    """A pipeline step's type without its scope (``'mmaction.Resize'`` ->
    ``'Resize'``)."""
    return str(step.get('type')).split('.')[-1]


def config_name(cfg: Config) -> str:
    """The config's file, or ``'the config'`` for one built in code."""
    return cfg.filename or 'the config'


def config_test_pipeline(cfg: Config) -> List[dict]:
    """The steps of the config's test pipeline, as ``tools/test.py`` runs
    them: ``test_dataloader.dataset.pipeline``, else ``test_pipeline``.

    Args:
        cfg (Config): The config.

    Returns:
        list[dict]: A copy of the steps.

    Raises:
        UnsupportedConfigError: When the config has neither.
    """
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    steps = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not steps:
        raise UnsupportedConfigError(
            f'{config_name(cfg)} has no test pipeline '
            f'(test_dataloader.dataset.pipeline or test_pipeline); add one, '
            f'e.g. by inheriting a dataset config of configs/_base_/datasets'
        )
    return copy.deepcopy([dict(step) for step in steps])


def _require_decoding(steps: Sequence[dict], cfg: Config) -> None:
    """Raise unless the pipeline decodes frames or videos."""
    if not any(step_type(step) in DECODING_STEPS for step in steps):
        raise UnsupportedConfigError(
            f'{config_name(cfg)}: the test pipeline has no decoding step '
            f'({", ".join(VIDEO_DECODERS + FRAME_DECODERS)}), so it cannot '
            f'read a video or a frame folder'
        )


def steps_for_video(steps: List[dict], cfg: Config) -> List[dict]:
    """The test pipeline for a video file.

    A pipeline that decodes videos is kept. One that decodes frame folders
    opens the video with ``DecordInit`` first (the sampler needs its frame
    count) and decodes with ``DecordDecode`` instead of
    ``RawFrameDecode``.

    Args:
        steps (list[dict]): The config's test pipeline.
        cfg (Config): The config, named in errors.

    Returns:
        list[dict]: The pipeline to run on the video.
    """
    _require_decoding(steps, cfg)
    if any(step_type(step) in VIDEO_DECODERS for step in steps):
        return steps
    decoded = [
        dict(type='DecordDecode')
        if step_type(step) in FRAME_DECODERS
        else step
        for step in steps
    ]
    return [dict(type='DecordInit')] + decoded


def steps_for_frames(steps: List[dict], cfg: Config) -> List[dict]:
    """The test pipeline for a folder of frames.

    A pipeline that decodes frame folders is kept. One that decodes videos
    loses its video-opening step and decodes with ``RawFrameDecode``.

    Args:
        steps (list[dict]): The config's test pipeline.
        cfg (Config): The config, named in errors.

    Returns:
        list[dict]: The pipeline to run on the folder.
    """
    _require_decoding(steps, cfg)
    if any(step_type(step) in FRAME_DECODERS for step in steps):
        return steps
    return [
        dict(type='RawFrameDecode')
        if step_type(step) in VIDEO_DECODERS
        else step
        for step in steps
        if step_type(step) not in VIDEO_OPENERS
    ]
