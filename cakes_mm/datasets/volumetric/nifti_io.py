"""Write NIfTI volumes atomically, and resample pairs with MONAI."""

import gzip
from typing import Sequence, Tuple

import nibabel as nib
import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Spacingd

from cakes_mm.fileio import atomic_write


def nifti_bytes(
    voxels: np.ndarray, affine: np.ndarray, compress: bool = True
) -> bytes:
    """Encode a volume as a NIfTI-1 file (gzip level 1, no timestamp).

    Args:
        voxels (np.ndarray): The voxels, axes as stored (``X, Y, Z[, C]``).
        affine (np.ndarray): The 4x4 voxel-to-world matrix (mm).
        compress (bool): gzip the bytes (for ``.nii.gz``). Defaults to
            True.

    Returns:
        bytes: The file's content.
    """
    image = nib.Nifti1Image(voxels, affine)
    image.header.set_xyzt_units('mm')
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    data = image.to_bytes()
    return gzip.compress(data, compresslevel=1, mtime=0) if compress else data


def save_nifti(path: str, voxels: np.ndarray, affine: np.ndarray) -> None:
    """Write a volume to ``path`` (``.nii`` or ``.nii.gz``) atomically.

    Args:
        path (str): The file; its folder is created if needed.
        voxels (np.ndarray): The voxels.
        affine (np.ndarray): The 4x4 voxel-to-world matrix (mm).
    """
    atomic_write(
        path, nifti_bytes(voxels, affine, compress=path.endswith('.gz'))
    )


def as_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Cast interpolated values back to a file's dtype.

    Args:
        values (np.ndarray): Floating-point values.
        dtype (np.dtype): The target; integer types are rounded and
            clipped to their range, others become float32.

    Returns:
        np.ndarray: The cast values.
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.integer):
        return values.astype(np.float32)
    info = np.iinfo(dtype)
    return np.clip(np.rint(values), info.min, info.max).astype(dtype)


def resample_pair(
    image: np.ndarray,
    label: np.ndarray,
    affine: np.ndarray,
    spacing: Sequence[float],
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resample an image (trilinear) and its label (nearest) to a spacing.

    MONAI's ``Spacingd`` keeps the orientation and the first voxel's
    centre, and both volumes get the same new grid.

    Args:
        image (np.ndarray): ``X, Y, Z`` or ``X, Y, Z, C`` voxels.
        label (np.ndarray): ``X, Y, Z`` class indices.
        affine (np.ndarray): Their common 4x4 affine.
        spacing (Sequence[float]): The new voxel sizes (mm).

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: The image and label in
        their original dtypes and axis layout, and the new affine.
    """
    channels = np.moveaxis(image, -1, 0) if image.ndim == 4 else image[None]
    world = torch.as_tensor(affine, dtype=torch.float64)
    data = dict(
        image=MetaTensor(
            torch.as_tensor(channels.astype(np.float32)), affine=world
        ),
        label=MetaTensor(
            torch.as_tensor(label[None].astype(np.float32)), affine=world
        ),
    )
    data = Spacingd(
        keys=['image', 'label'],
        pixdim=list(spacing),
        mode=('bilinear', 'nearest'),
        dtype=np.float32,
    )(data)
    new_image = data['image'].numpy()
    new_image = (
        np.moveaxis(new_image, 0, -1) if image.ndim == 4 else new_image[0]
    )
    return (
        as_dtype(new_image, image.dtype),
        as_dtype(data['label'].numpy()[0], label.dtype),
        np.asarray(data['image'].affine, dtype=np.float64),
    )
