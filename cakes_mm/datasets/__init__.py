"""Datasets that check their input and name the file or line at fault."""

from .annotation import AnnotationLine, read_annotation
from .checked_rawframe_dataset import CheckedRawframeDataset
from .checked_video_dataset import CheckedVideoDataset
from .errors import (
    BadAnnotationError,
    BadInputError,
    BadSampleError,
    error_reason,
    short_message,
)
from .sample_checks import SampleChecksMixin

__all__ = [
    'AnnotationLine',
    'BadAnnotationError',
    'BadInputError',
    'BadSampleError',
    'CheckedRawframeDataset',
    'CheckedVideoDataset',
    'SampleChecksMixin',
    'error_reason',
    'read_annotation',
    'short_message',
]

# The volumetric half needs MONAI and nibabel (the "volumetric" extra);
# without them the video datasets above still import.
try:
    from .volumetric import MSDDataset  # noqa: F401
except ModuleNotFoundError as error:
    if error.name.split('.')[0] not in ('monai', 'nibabel'):
        raise
else:
    __all__.append('MSDDataset')
