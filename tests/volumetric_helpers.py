"""Helpers for the volumetric tests: tiny NIfTI datasets in the Medical
Segmentation Decathlon layout, made with MONAI's ``create_test_image_3d``.

``write_msd_dataset(root)`` writes ``imagesTr/case_<i>.nii.gz``,
``labelsTr/case_<i>.nii.gz`` (32^3 voxels, labels 0..2) and
``dataset.json``; the other helpers write single files or a json, for tests
that need a broken variant.
"""

import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import nibabel as nib
import numpy as np
from monai.data import create_test_image_3d

#: The classes of the tiny dataset, as a dataset.json writes them.
LABELS = {'0': 'background', '1': 'organ', '2': 'tumour'}


def grid_affine(
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    origin: Sequence[float] = (-16.0, -20.0, 8.0),
) -> np.ndarray:
    """A 4x4 voxel-to-world matrix with the given spacing and origin."""
    affine = np.diag([*map(float, spacing), 1.0])
    affine[:3, 3] = origin
    return affine


def write_nifti(
    path: str, voxels: np.ndarray, affine: Optional[np.ndarray] = None
) -> str:
    """Write ``voxels`` as a NIfTI file (folders made); return the path."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    nib.save(
        nib.Nifti1Image(voxels, grid_affine() if affine is None else affine),
        path,
    )
    return path


def make_case(
    seed: int, size: int = 32, num_classes: int = 3
) -> Dict[str, np.ndarray]:
    """A random image (float32 in 0..1) and its label map (uint8)."""
    image, label = create_test_image_3d(
        size,
        size,
        size,
        num_objs=4,
        rad_max=size // 4,
        rad_min=3,
        num_seg_classes=num_classes - 1,
        noise_max=0.1,
        random_state=np.random.RandomState(seed),
    )
    return dict(image=image.astype(np.float32), label=label.astype(np.uint8))


def write_json(
    path: str,
    training: List[dict],
    validation: Optional[List[dict]] = None,
    labels: Optional[dict] = None,
    **extra,
) -> str:
    """Write a dataset.json; return its path."""
    index = dict(
        name='tiny',
        labels=LABELS if labels is None else labels,
        numTraining=len(training),
        training=training,
        **extra,
    )
    if validation is not None:
        index['validation'] = validation
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as file:
        json.dump(index, file, indent=1)
    return path


def write_msd_dataset(
    root: str,
    num_cases: int = 4,
    num_validation: int = 0,
    size: int = 32,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
) -> str:
    """Write a tiny Decathlon-layout dataset under ``root``.

    Args:
        root (str): The dataset folder.
        num_cases (int): Image/label pairs. Defaults to 4.
        num_validation (int): How many of them (the last ones) go to a
            ``validation`` list instead of ``training``. Defaults to 0.
        size (int): Voxels per axis. Defaults to 32.
        spacing (Sequence[float]): Voxel sizes (mm). Defaults to 1 mm.

    Returns:
        str: The ``dataset.json`` path.
    """
    entries = []
    for i in range(num_cases):
        case = make_case(i, size)
        name = f'case_{i}.nii.gz'
        for key, folder in (('image', 'imagesTr'), ('label', 'labelsTr')):
            write_nifti(
                osp.join(root, folder, name), case[key], grid_affine(spacing)
            )
        entries.append(
            dict(image=f'./imagesTr/{name}', label=f'./labelsTr/{name}')
        )
    split = num_cases - num_validation
    return write_json(
        osp.join(root, 'dataset.json'),
        entries[:split],
        entries[split:] if num_validation else None,
    )


def train_pipeline(roi: int = 16) -> List[dict]:
    """A training pipeline: load, crop ``roi``^3 and flip/rotate at random."""
    keys = ['image', 'label']
    return [
        dict(type='LoadImaged', keys=keys),
        dict(type='EnsureChannelFirstd', keys=keys),
        dict(type='Orientationd', keys=keys, axcodes='RAS', labels=None),
        dict(
            type='ScaleIntensityRanged',
            keys=['image'],
            a_min=0.0,
            a_max=1.0,
            b_min=-1.0,
            b_max=1.0,
            clip=True,
        ),
        dict(
            type='RandSpatialCropd',
            keys=keys,
            roi_size=[roi] * 3,
            random_size=False,
        ),
        dict(type='RandRotate90d', keys=keys, prob=0.5, spatial_axes=(0, 1)),
        *[
            dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=axis)
            for axis in range(3)
        ],
    ]


def whole_volume_pipeline() -> List[dict]:
    """A whole-volume pipeline: load and orient, nothing random."""
    keys = ['image', 'label']
    return [
        dict(type='LoadImaged', keys=keys),
        dict(type='EnsureChannelFirstd', keys=keys),
        dict(type='Orientationd', keys=keys, axcodes='RAS', labels=None),
    ]
