"""Inference on one video file or frame folder, mmaction2-style.

Not imported by ``import cakes_mm``: ``from cakes_mm.apis import
init_recognizer, inference_recognizer``. The code of ``tools/train.py``,
``tools/test.py`` and ``tools/search/export_arch.py`` is in the modules
:mod:`.train`, :mod:`.test` and :mod:`.export_arch` (each with the tool's
``main``), and what they share in :mod:`.runner`.
"""

from .frame_folder import FrameFolder, scan_frame_folder
from .inference import (
    VIDEO_EXTENSIONS,
    inference_recognizer,
    init_recognizer,
    preprocess_video,
)
from .pipeline import (
    UnsupportedConfigError,
    config_test_pipeline,
    steps_for_frames,
    steps_for_video,
)

__all__ = [
    'FrameFolder',
    'UnsupportedConfigError',
    'VIDEO_EXTENSIONS',
    'config_test_pipeline',
    'inference_recognizer',
    'init_recognizer',
    'preprocess_video',
    'scan_frame_folder',
    'steps_for_frames',
    'steps_for_video',
]
