"""Volumetric (3D segmentation) data: Decathlon-layout NIfTI pairs.

Needs MONAI and nibabel (``pip install cakes_mm[volumetric]``).
"""

from .decathlon_json import (
    VolumeCase,
    assign_folds,
    class_names,
    load_decathlon_json,
    read_cases,
    select_cases,
)
from .monai_pipeline import build_pipeline, reseed
from .msd_dataset import MSDDataset
from .nifti_checks import VolumeGrid, check_pair, read_grid, read_volume
from .volume_packing import pack_volume

__all__ = [
    'MSDDataset',
    'VolumeCase',
    'VolumeGrid',
    'assign_folds',
    'build_pipeline',
    'check_pair',
    'class_names',
    'load_decathlon_json',
    'pack_volume',
    'read_cases',
    'read_grid',
    'read_volume',
    'reseed',
    'select_cases',
]
