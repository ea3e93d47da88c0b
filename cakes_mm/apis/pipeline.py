"""A config's test pipeline, fitted to the input or to the views asked for.

The sthv1 configs decode folders of JPEG frames (``RawFrameDecode``); the
UCF101 and demo configs decode video files (``DecordInit`` before the
sampler, ``DecordDecode`` after it). For inference on one input, the
decoding steps are swapped to suit it; sampling, resizing, cropping,
formatting and the model's normalisation stay the config's. For a
multi-view test (``tools/test.py --num-clips/--num-crops``), the sampler's
clip count and the crop are changed instead.
"""

import copy
from typing import List, NamedTuple, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from ..datasets.pipeline_steps import SAMPLERS, step_index, step_type

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


class Decoding(NamedTuple):
    """How a pipeline reads one kind of input.

    Args:
        decoders (tuple[str]): The steps that decode it.
        openers (tuple[str]): The steps that open it before the sampler.
        decoder (str): The decoding step a swapped pipeline gets.
        opener (str, optional): The opening step a swapped pipeline gets
            first, if any.
    """

    decoders: Tuple[str, ...]
    openers: Tuple[str, ...]
    decoder: str
    opener: Optional[str] = None


#: Video files: opened by ``DecordInit``, decoded by ``DecordDecode``.
VIDEO = Decoding(VIDEO_DECODERS, VIDEO_OPENERS, 'DecordDecode', 'DecordInit')
#: Frame folders: read by ``RawFrameDecode``.
FRAMES = Decoding(FRAME_DECODERS, (), 'RawFrameDecode')


def swap_decoding(
    steps: List[dict], cfg: Config, new: Decoding, old: Decoding
) -> List[dict]:
    """The test pipeline for the input that ``new`` reads.

    A pipeline that decodes with one of ``new.decoders`` is kept. Otherwise
    ``old``'s openers are dropped, its decoders become ``new.decoder``, and
    ``new.opener`` (if any) comes first.

    Args:
        steps (list[dict]): The config's test pipeline.
        cfg (Config): The config, named in errors.
        new (Decoding): The input to read.
        old (Decoding): The input the pipeline reads otherwise.

    Returns:
        list[dict]: The pipeline to run on the input.
    """
    _require_decoding(steps, cfg)
    if any(step_type(step) in new.decoders for step in steps):
        return steps
    swapped = [
        dict(type=new.decoder) if step_type(step) in old.decoders else step
        for step in steps
        if step_type(step) not in old.openers
    ]
    return ([dict(type=new.opener)] if new.opener else []) + swapped


def steps_for_video(steps: List[dict], cfg: Config) -> List[dict]:
    """The test pipeline for a video file (:func:`swap_decoding`).

    A pipeline that decodes videos is kept. One that decodes frame folders
    opens the video with ``DecordInit`` first (the sampler needs its frame
    count) and decodes with ``DecordDecode`` instead of
    ``RawFrameDecode``.
    """
    return swap_decoding(steps, cfg, VIDEO, FRAMES)


def steps_for_frames(steps: List[dict], cfg: Config) -> List[dict]:
    """The test pipeline for a folder of frames (:func:`swap_decoding`).

    A pipeline that decodes frame folders is kept. One that decodes videos
    loses its video-opening step and decodes with ``RawFrameDecode``.
    """
    return swap_decoding(steps, cfg, FRAMES, VIDEO)


def set_num_clips(steps: List[dict], num_clips: int) -> None:
    """Set the test sampler's ``num_clips``.

    Args:
        steps (list[dict]): The test pipeline, changed in place.
        num_clips (int): Clips per video.

    Raises:
        UnsupportedConfigError: When the pipeline has no frame sampler.
    """
    index = step_index(steps, SAMPLERS)
    if index is None:
        raise UnsupportedConfigError(
            f'--num-clips: the test pipeline has no '
            f'frame sampler ({", ".join(SAMPLERS)})'
        )
    steps[index]['num_clips'] = num_clips


def square_crop_size(step: dict) -> int:
    """The side of a square crop step's crop.

    Raises:
        UnsupportedConfigError: When the crop is not square.
    """
    size = step['crop_size']
    if isinstance(size, int):
        return size
    if len(size) == 2 and size[0] == size[1]:
        return int(size[0])
    raise UnsupportedConfigError(
        f'--num-crops needs a square crop, the test '
        f'pipeline crops {tuple(size)}'
    )


def set_num_crops(steps: List[dict], num_crops: int) -> None:
    """Switch between one centre crop and three crops.

    Three crops: the ``CenterCrop`` becomes a ``ThreeCrop`` of the same
    size, and the ``Resize`` before it resizes the short side to that size,
    so the three crops span the long side. One crop: a ``ThreeCrop``
    becomes a ``CenterCrop`` of the same size.

    Args:
        steps (list[dict]): The test pipeline, changed in place.
        num_crops (int): 1 or 3.

    Raises:
        UnsupportedConfigError: When there is no crop to replace, the crop
            is not square, or no ``Resize`` comes before a crop made three.
    """
    old, new = (
        ('CenterCrop', 'ThreeCrop')
        if num_crops == 3
        else ('ThreeCrop', 'CenterCrop')
    )
    if step_index(steps, (new,)) is not None:
        return
    index = step_index(steps, (old,))
    if index is None:
        raise UnsupportedConfigError(
            f'--num-crops {num_crops}: the test pipeline '
            f'has no {old} to replace'
        )
    size = square_crop_size(steps[index])
    steps[index] = dict(type=new, crop_size=size)
    if num_crops == 3:
        resize = step_index(steps[:index][::-1], ('Resize',))
        if resize is None:
            raise UnsupportedConfigError(
                '--num-crops 3: no Resize before the '
                'CenterCrop to resize the short side with'
            )
        steps[index - 1 - resize].update(scale=(-1, size), keep_ratio=True)


def use_test_views(
    cfg: Config,
    num_clips: Optional[int] = None,
    num_crops: Optional[int] = None,
) -> None:
    """Test on the views asked for, each video keeping its own.

    Sets the clips and crops of ``test_dataloader.dataset.pipeline`` where
    asked, makes the head average views by probability unless it names
    another mode, and tests one video per batch under the model's
    ``test_cfg.max_testing_views``.

    Args:
        cfg (Config): The config, changed in place.
        num_clips (int, optional): Clips per video. Defaults to None: the
            config's.
        num_crops (int, optional): Crops per clip, 1 or 3. Defaults to
            None: the config's.

    Raises:
        UnsupportedConfigError: When the pipeline cannot take the views.
    """
    steps = cfg.test_dataloader.dataset.get('pipeline')
    if steps is None and (num_clips or num_crops):
        raise UnsupportedConfigError(
            '--num-clips/--num-crops need '
            'test_dataloader.dataset.pipeline in the config'
        )
    if num_clips:
        set_num_clips(steps, num_clips)
    if num_crops:
        set_num_crops(steps, num_crops)
    head = cfg.model.get('cls_head')
    if head is not None and head.get('average_clips') is None:
        head.average_clips = 'prob'
    if (cfg.model.get('test_cfg') or {}).get('max_testing_views'):
        cfg.test_dataloader.batch_size = 1
    if num_clips or num_crops:
        clips = num_clips or "the config's"
        crops = num_crops or "the config's"
        print_log(
            f'multi-view test: {clips} clips x {crops} crops per video',
            logger='current',
        )
