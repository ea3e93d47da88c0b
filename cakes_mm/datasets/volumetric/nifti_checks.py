"""Checks of NIfTI image/label pairs that name the file at fault.

Used by ``MSDDataset`` (headers before loading, label values and finite
image voxels after) and by the data tools (everything, reading each volume
once).
"""

import os.path as osp
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Tuple, Union

import nibabel as nib
import numpy as np
import torch

from ..errors import BadSampleError, error_reason

#: Largest difference (mm) between two affines' entries that still counts
#: as the same grid; MSD files carry float rounding of about 1e-6.
AFFINE_TOLERANCE = 1e-3

ArrayLike = Union[np.ndarray, torch.Tensor]


@dataclass(frozen=True)
class VolumeGrid:
    """The voxel grid of a NIfTI file, from its header.

    Attributes:
        shape (tuple[int, int, int]): The three spatial sizes.
        affine (np.ndarray): The 4x4 voxel-to-world matrix (mm).
        spacing (tuple[float, float, float]): Voxel sizes (mm).
        num_channels (int): Size of a fourth axis (MSD keeps modalities
            there), else 1.
    """

    shape: Tuple[int, int, int]
    affine: np.ndarray
    spacing: Tuple[float, float, float]
    num_channels: int


def open_nifti(path: str) -> nib.Nifti1Image:
    """Open ``path`` with nibabel, reading its header only.

    Args:
        path (str): A ``.nii`` or ``.nii.gz`` file.

    Returns:
        nib.Nifti1Image: The image; its data is read on access.
    """
    if not osp.isfile(path):
        raise BadSampleError(f'{path}: file not found')
    try:
        return nib.load(path)
    except Exception as error:  # nibabel raises many error types
        raise BadSampleError(
            f'{path}: not a readable NIfTI file ({error_reason(error)})'
        ) from None


def read_grid(path: str) -> VolumeGrid:
    """The voxel grid of a 3D volume, or a 4D one with channels last.

    Args:
        path (str): The file.

    Returns:
        VolumeGrid: Its grid.
    """
    image = open_nifti(path)
    shape = tuple(int(size) for size in image.shape)
    if len(shape) not in (3, 4):
        raise BadSampleError(
            f'{path}: has shape {list(shape)}; a volume '
            'needs 3 axes (or 4, channels last)'
        )
    spacing = tuple(float(size) for size in image.header.get_zooms()[:3])
    return VolumeGrid(
        shape=shape[:3],
        affine=np.asarray(image.affine),
        spacing=spacing,
        num_channels=shape[3] if len(shape) == 4 else 1,
    )


def read_volume(path: str) -> Tuple[np.ndarray, VolumeGrid]:
    """Read all of ``path``'s voxels (this finds a truncated file).

    Args:
        path (str): The file.

    Returns:
        tuple[np.ndarray, VolumeGrid]: The voxels in the file's own dtype
        (axes as stored) and the grid.
    """
    grid = read_grid(path)
    try:
        voxels = np.asanyarray(nib.load(path).dataobj)
    except Exception as error:  # zlib, EOFError, OSError, ...
        raise BadSampleError(
            f'{path}: cannot read its voxels ({error_reason(error)})'
        ) from None
    return voxels, grid


def check_same_grid(
    image_path: str,
    image: VolumeGrid,
    label_path: str,
    label: VolumeGrid,
    entry: str,
) -> None:
    """Refuse a label whose grid is not its image's.

    Args:
        image_path (str): The image file.
        image (VolumeGrid): Its grid.
        label_path (str): The label file.
        label (VolumeGrid): Its grid.
        entry (str): Where the pair is listed.
    """
    if label.num_channels != 1:
        raise BadSampleError(
            f'{label_path}: a label must be 3D, it has '
            f'{label.num_channels} channels ({entry})'
        )
    if label.shape != image.shape:
        raise BadSampleError(
            f'{label_path}: shape {list(label.shape)} differs from the '
            f'image {image_path}, {list(image.shape)} ({entry})'
        )
    gap = float(np.abs(label.affine - image.affine).max())
    if gap > AFFINE_TOLERANCE:
        raise BadSampleError(
            f"{label_path}: affine differs from the image {image_path}'s "
            f'by up to {gap:.4g} mm ({entry})'
        )


def check_label_values(
    values: Iterable[float], num_classes: int, label_path: str, entry: str
) -> None:
    """Refuse label values outside ``0 .. num_classes - 1``.

    Args:
        values (Iterable[float]): The distinct values of the label map.
        num_classes (int): The declared classes, background included.
        label_path (str): The label file.
        entry (str): Where the pair is listed.
    """
    allowed = set(range(num_classes))
    bad = sorted({float(value) for value in values} - allowed)
    if bad:
        shown = ', '.join(f'{value:g}' for value in bad[:5])
        more = f' and {len(bad) - 5} more' if len(bad) > 5 else ''
        raise BadSampleError(
            f'{label_path}: label values {shown}{more} are not among the '
            f'declared labels 0..{num_classes - 1} ({entry})'
        )


def check_instance_ids(
    values: Iterable[float], label_path: str, entry: str
) -> None:
    """Refuse instance ids that are negative or not whole numbers.

    Args:
        values (Iterable[float]): The distinct values of the label map.
        label_path (str): The label file.
        entry (str): Where the pair is listed.
    """
    bad = sorted(
        {
            float(value)
            for value in values
            if value < 0 or float(value) != int(value)
        }
    )
    if bad:
        shown = ', '.join(f'{value:g}' for value in bad[:5])
        raise BadSampleError(
            f'{label_path}: label values {shown} are not instance ids '
            f'(whole numbers >= 0) ({entry})'
        )


def check_finite(voxels: ArrayLike, path: str, entry: str) -> None:
    """Refuse a volume with NaN or infinite voxels, which would otherwise
    surface as a non-finite loss.

    Args:
        voxels (np.ndarray | torch.Tensor): The volume as read.
        path (str): Its file.
        entry (str): Where it is listed.
    """
    values = np.asarray(voxels)
    if values.dtype.kind not in 'fc':  # integers are always finite
        return
    nan = int(np.isnan(values).sum())
    inf = int(np.isinf(values).sum())
    if nan or inf:
        raise BadSampleError(
            f'{path}: {nan} NaN and {inf} infinite voxel(s) of '
            f'{values.size}; a volume must be finite ({entry})'
        )


def check_pair(
    image_path: str, label_path: str, num_classes: int, entry: str
) -> Tuple[np.ndarray, np.ndarray, VolumeGrid]:
    """Read and check a pair completely, as the data tools do.

    Args:
        image_path (str): The image file.
        label_path (str): The label file.
        num_classes (int): The declared classes, background included.
        entry (str): Where the pair is listed.

    Returns:
        tuple[np.ndarray, np.ndarray, VolumeGrid]: The image and label
        voxels and their common grid.
    """
    image, image_grid = read_volume(image_path)
    label, label_grid = read_volume(label_path)
    check_finite(image, image_path, entry)
    check_same_grid(image_path, image_grid, label_path, label_grid, entry)
    check_label_values(np.unique(label), num_classes, label_path, entry)
    return image, label, image_grid


def first_unreadable(paths: Sequence[str]) -> Optional[BadSampleError]:
    """Why the first unreadable file of ``paths`` cannot be read.

    Args:
        paths (Sequence[str]): Files to try, in order.

    Returns:
        BadSampleError, optional: The error naming the file, or None if
        every file reads.
    """
    for path in paths:
        try:
            read_volume(path)
        except BadSampleError as error:
            return error
    return None
