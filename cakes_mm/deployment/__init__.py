"""Deployment: ONNX export of recognizers, checked in onnxruntime.

Not imported by ``import cakes_mm``; needs the ``deploy`` extra
(``pip install "cakes_mm[deploy]"``).
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
