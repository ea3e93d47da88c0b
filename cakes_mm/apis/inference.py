"""Recognise a video file or a folder of frames with any config.

:func:`init_recognizer` and :func:`inference_recognizer` have the names,
argument order and results of ``mmaction.apis``, so code written for
mmaction2 runs unchanged. They differ where mmaction2's would fail or
mislead on this plugin's configs:

* the input may be a video file or a frame folder, whatever the config was
  trained on: the test pipeline's decoding is fitted to the input
  (:mod:`cakes_mm.apis.pipeline`), so an sthv1 config (JPEG frames)
  recognises an mp4;
* a checkpoint must fit the model exactly: mmaction2 loads with
  ``strict=False`` and would run a mismatched checkpoint on partly random
  weights. Checkpoints load with ``weights_only=True``;
* ``cfg_options`` overrides config entries, as ``--cfg-options`` does;
* the device defaults to ``cuda:0`` only where CUDA is available;
* bad input raises an error with a one-line message naming the file and
  what to do.
"""

import copy
import os.path as osp
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from ..checkpoint.fit_check import (
    CheckpointMismatchError,
    checkpoint_state_dict,
    describe_mismatch,
)
from ..checkpoint.safe_load import UnsafeCheckpointError, load_local_checkpoint
from ..config_names import read_config
from ..datasets import BadInputError, error_reason
from .frame_folder import scan_frame_folder
from .pipeline import (
    DECODING_STEPS,
    UnsupportedConfigError,
    config_name,
    config_test_pipeline,
    steps_for_frames,
    steps_for_video,
)

#: File extensions taken as videos (case-insensitive).
VIDEO_EXTENSIONS = (
    '.mp4',
    '.avi',
    '.webm',
    '.mkv',
    '.mov',
    '.m4v',
    '.mpg',
    '.mpeg',
    '.flv',
    '.wmv',
    '.3gp',
    '.ogv',
    '.ts',
)


def init_recognizer(
    config: Union[str, Path, Config],
    checkpoint: Optional[str] = None,
    device: Optional[Union[str, torch.device]] = None,
    cfg_options: Optional[dict] = None,
) -> nn.Module:
    """Build a config's recognizer and load a checkpoint into it.

    Args:
        config (str | Path | Config): The config file or object (not
            changed; a copy is used).
        checkpoint (str, optional): Weights for the config's model: an
            mmengine/mmaction2 checkpoint, a bare state dict, or weights
            under ``model``, with or without DDP's ``module.`` prefix.
            Defaults to None: random weights.
        device (str | torch.device, optional): Where the model runs.
            Defaults to None: ``'cuda:0'`` if CUDA is available, else
            ``'cpu'``.
        cfg_options (dict, optional): Config overrides, as
            ``--cfg-options`` gives them (e.g.
            ``{'model.backbone.op.arch': 'arch_final.json'}``). Defaults to
            None.

    Returns:
        nn.Module: The recognizer in eval mode, with its config as
        ``model.cfg``.

    Raises:
        FileNotFoundError: When the config or checkpoint is missing.
        CheckpointMismatchError: When a key of the checkpoint does not fit.
        UnsafeCheckpointError: When the checkpoint holds pickled objects
            other than tensors and mmengine's own.
        BadInputError: When the checkpoint cannot be read.
    """
    cfg = _load_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    if cfg.model.get('backbone', {}).get('pretrained'):
        cfg.model.backbone.pretrained = None  # the checkpoint has it all
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        _load_weights(model, checkpoint, config_name(cfg))
    model.cfg = cfg
    if device is None:
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    model.to(device)
    model.eval()
    return model


def _load_config(config: Union[str, Path, Config]) -> Config:
    """A copy of ``config``, or the config read from that file."""
    if isinstance(config, Config):
        return copy.deepcopy(config)
    return read_config(config)


def _load_weights(model: nn.Module, checkpoint: str, config: str) -> None:
    """Load every weight of ``checkpoint`` into ``model``; each key must
    fit."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    try:
        loaded = load_local_checkpoint(checkpoint, 'cpu')
    except UnsafeCheckpointError:
        raise
    except Exception as error:  # torch raises several types for bad files
        raise BadInputError(
            f'cannot read checkpoint {checkpoint}: {error_reason(error)}'
        ) from None
    if not isinstance(loaded, dict):
        raise BadInputError(
            f'{checkpoint} holds a {type(loaded).__name__}, '
            f'not a dict of weights'
        )
    state = checkpoint_state_dict(loaded)
    mismatch = describe_mismatch(model.state_dict(), state)
    if mismatch:
        raise CheckpointMismatchError(
            f'{checkpoint} does not fit the model of {config}: {mismatch}. '
            f'Was it trained with another arch, depth or op_set? Give the '
            f'config (or cfg_options) it was trained with'
        )
    model.load_state_dict(state)


def inference_recognizer(
    model: nn.Module,
    video: Union[str, Path, dict],
    test_pipeline: Optional[Compose] = None,
    filename_tmpl: Optional[str] = None,
) -> ActionDataSample:
    """Recognise one video file or frame folder.

    Args:
        model (nn.Module): A recognizer from :func:`init_recognizer` (or
            any with its config as ``model.cfg``).
        video (str | Path | dict): A video file (``VIDEO_EXTENSIONS``), a
            folder of numbered frames, or a ready pipeline input dict.
        test_pipeline (Compose, optional): The pipeline to run, as is.
            Defaults to None: the config's test pipeline with its decoding
            fitted to the input.
        filename_tmpl (str, optional): The frames' file name template for
            a folder, e.g. ``'img_{:05}.jpg'``. Defaults to None: detected
            from the folder.

    Returns:
        ActionDataSample: With the class scores in ``pred_score``, averaged
        over the views as the config's head says (``average_clips``).

    Raises:
        FileNotFoundError: When ``video`` does not exist.
        BadInputError: For an unknown extension, a video that cannot be
            decoded, or a folder without usable frames.
        UnsupportedConfigError: For a config without a test pipeline or
            without a decoding step.
    """
    packed = _packed_input(model, video, test_pipeline, filename_tmpl)
    with torch.no_grad():
        return model.test_step(pseudo_collate([packed]))[0]


def preprocess_video(
    model: nn.Module,
    video: Union[str, Path, dict],
    filename_tmpl: Optional[str] = None,
) -> torch.Tensor:
    """The clips the model sees for one video file or frame folder.

    The config's test pipeline (fitted to the input, as in
    :func:`inference_recognizer`) and the model's ``data_preprocessor``:
    the input of an exported ONNX file (``docs/onnx.md``).

    Args:
        model (nn.Module): A recognizer from :func:`init_recognizer`.
        video (str | Path | dict): As for :func:`inference_recognizer`.
        filename_tmpl (str, optional): As for :func:`inference_recognizer`.
            Defaults to None.

    Returns:
        torch.Tensor: (views, 3, T, H, W) normalised clips, one per view
        (clips x crops) of the test pipeline, on the model's device.
    """
    packed = _packed_input(model, video, None, filename_tmpl)
    with torch.no_grad():
        batch = model.data_preprocessor(pseudo_collate([packed]), False)
    return batch['inputs'][0]


def _packed_input(
    model: nn.Module,
    video: Union[str, Path, dict],
    test_pipeline: Optional[Compose],
    filename_tmpl: Optional[str],
) -> dict:
    """The test pipeline's output for one input."""
    fit = None  # a ready dict runs the config's pipeline as it is
    if isinstance(video, dict):
        source, data = 'the input dict', video
    else:
        source = str(video)
        data, fit = _prepare_input(source, filename_tmpl)
    if test_pipeline is None:
        steps = config_test_pipeline(model.cfg)
        test_pipeline = _compose(
            fit(steps, model.cfg) if fit else steps, model.cfg
        )
    return _run_pipeline(test_pipeline, data, source)


def _prepare_input(path: str, filename_tmpl: Optional[str]) -> tuple:
    """The pipeline's input dict for a video file or folder, and the
    function that fits a test pipeline's decoding to it."""
    if osp.isdir(path):
        folder = scan_frame_folder(path, filename_tmpl)
        return dict(
            folder._asdict(), label=-1, modality='RGB'
        ), steps_for_frames
    if not osp.exists(path):
        raise FileNotFoundError(f'video not found: {path}')
    extension = osp.splitext(path)[1].lower()
    if extension not in VIDEO_EXTENSIONS:
        raise BadInputError(
            f"{path}: unknown video extension '{extension}'; give a video "
            f'file ({" ".join(VIDEO_EXTENSIONS)}) or a folder of frames'
        )
    return dict(
        filename=path, label=-1, start_index=0, modality='RGB'
    ), steps_for_video


def _compose(steps: list, cfg: Config) -> Compose:
    """Build the pipeline; a step the registry does not know is the
    config's fault."""
    try:
        return Compose(steps)
    except (KeyError, TypeError) as error:
        raise UnsupportedConfigError(
            f'{config_name(cfg)}: cannot build the test pipeline: '
            f'{error_reason(error)}'
        ) from None


def _run_pipeline(pipeline: Compose, data: dict, source: str) -> dict:
    """Run the pipeline step by step, naming the step that fails."""
    for transform in pipeline.transforms:
        name = type(transform).__name__
        try:
            data = transform(data)
        except Exception as error:  # decoders raise many error types
            raise BadInputError(_failure(name, source, error)) from None
        if data is None:
            raise BadInputError(
                f'{source}: the test pipeline step {name} dropped the input'
            )
    return data


def _failure(step: str, source: str, error: Exception) -> str:
    """One line on a failed pipeline step: decoding or another step."""
    reason = error_reason(error)
    if step not in DECODING_STEPS:
        return f'{source}: the test pipeline step {step} failed: {reason}'
    if osp.isdir(source):
        return (
            f'cannot read the frames of {source}: {reason}; check that '
            f'every frame is a readable image'
        )
    return (
        f'cannot decode video {source}: {reason}; check that it plays, '
        f'or re-encode it (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)'
    )
