"""Deployment: ONNX export of recognizers, checked in onnxruntime, and
volumetric segmentors as MONAI bundles (:mod:`.monai_bundle`).

Not imported by ``import cakes_mm``; the ONNX export needs the ``deploy``
extra (``pip install "cakes_mm[deploy]"``), the bundles the
``volumetric`` one.
"""

from .clip_scores import ClipScores
from .onnx_export import (
    INPUT_NAME,
    OUTPUT_NAME,
    ExportError,
    ExportReport,
    check_onnx,
    export_recognizer,
    onnx_bytes,
    onnx_session,
    relative_difference,
)

__all__ = [
    'ClipScores',
    'ExportError',
    'ExportReport',
    'INPUT_NAME',
    'OUTPUT_NAME',
    'check_onnx',
    'export_recognizer',
    'onnx_bytes',
    'onnx_session',
    'relative_difference',
]
