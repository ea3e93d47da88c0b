"""A labelled brain MRI for the volumetric demo, from the MNI template.

The PmSCn paper segments T1 brain MRI into background, CSF, grey matter
(GM) and white matter (WM), as in IBSR. No such data set can be downloaded
here, but the ``nilearn`` wheel ships the MNI ICBM152 2009a (symmetric)
template: a T1 volume and GM and WM probability maps at 1 mm. This module
turns them into one labelled subject in the Decathlon layout, at 2 mm:

* the three volumes are resampled to 2 mm (trilinear, MONAI's
  ``Spacing``);
* WM is where the WM map is at least :data:`TISSUE_THRESHOLD` and not below
  the GM map; GM is where the GM map is at least that and above the WM map;
* CSF is dark T1 (below :data:`CSF_T1_FRACTION` of the median T1 of GM)
  inside an intracranial envelope: the GM+WM mask, closed, widened by
  :data:`ENVELOPE_MARGIN` voxels (4 mm, the CSF around the cortex) and
  hole-filled (the ventricles); everything else is background.

The shares over the whole 2 mm template are 77.0% background, 3.0% CSF,
12.8% GM and 7.2% WM (IBSR-like: about 78 / 3 / 12 / 7).

The template is left-right symmetric, so a left/right split would test on
the mirror image of the training data. The brain's bounding box is cut
front to back instead (the y axis, anterior up): the anterior
:data:`TRAIN_SHARE` trains, the next :data:`VAL_SHARE` validates and the
posterior :data:`TEST_SHARE` tests. The test part holds every class, with
anatomy the model has not seen (occipital lobes, cerebellum), and the
validation slab lies between the two, so no voxel is shared.

Attribution: the MNI ICBM152 2009a template, copyright (C) 1993-2009 Louis
Collins, McConnell Brain Imaging Centre, Montreal Neurological Institute,
McGill University (Fonov et al., NeuroImage 2009 and 2011; Collins et al.,
1999), as shipped and described by nilearn
(``nilearn/datasets/description/icbm152_2009.rst``). :func:`write_mni_dataset`
writes that description, with these references, to ``ATTRIBUTION.rst``
beside the data.
"""

import importlib.resources
import json
import os.path as osp
from typing import Dict, Tuple

import nibabel as nib
import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Spacing
from scipy import ndimage

from cakes_mm.datasets.volumetric.nifti_io import save_nifti
from cakes_mm.fileio import atomic_write

CLASSES = ('background', 'CSF', 'GM', 'WM')
SPACING_MM = 2.0
TISSUE_THRESHOLD = 0.4
CSF_T1_FRACTION = 0.5
ENVELOPE_CLOSING = 2
ENVELOPE_MARGIN = 2
BOX_MARGIN = 2
TRAIN_SHARE, VAL_SHARE, TEST_SHARE = 0.5, 0.1, 0.4
TEMPLATE = 'mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz'
DESCRIPTION = 'datasets/description/icbm152_2009.rst'
REFERENCES = """\
MNI ICBM152 2009a (nonlinear symmetric) template, as shipped by nilearn.
Copyright (C) 1993-2009 Louis Collins, McConnell Brain Imaging Centre,
Montreal Neurological Institute, McGill University.

* V. S. Fonov, A. C. Evans, R. C. McKinstry, C. R. Almli, D. L. Collins.
  Unbiased nonlinear average age-appropriate brain templates from birth to
  adulthood. NeuroImage 47, Supplement 1, S102, 2009.
* V. Fonov, A. C. Evans, K. Botteron, C. R. Almli, R. C. McKinstry,
  D. L. Collins. Unbiased average age-appropriate atlases for pediatric
  studies. NeuroImage 54(1), 313-327, 2011.
* D. L. Collins, A. P. Zijdenbos, W. F. C. Baare, A. C. Evans. ANIMAL+INSECT:
  improved cortical structure segmentation. IPMI 1999.

The labels (background, CSF, GM, WM) were derived by cakes_mm
(cakes_mm/demo/mni_brain.py) by thresholding the template's maps at 2 mm.

nilearn's description of the template follows.

"""


def nilearn_file(relative: str) -> str:
    """A file inside the installed ``nilearn`` package.

    Args:
        relative (str): Its path inside the package.

    Returns:
        str: The file's path.
    """
    try:
        path = importlib.resources.files('nilearn') / relative
    except ModuleNotFoundError:
        raise RuntimeError(
            'the MNI demo data needs nilearn: pip install nilearn==0.14.1'
        ) from None
    return str(path)


def load_template(
    spacing: float = SPACING_MM,
) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """The T1, GM and WM volumes resampled to ``spacing``.

    Args:
        spacing (float): Voxel size (mm). Defaults to 2.

    Returns:
        tuple[dict[str, np.ndarray], np.ndarray]: ``t1``, ``gm``, ``wm``
        (float32 in 0..1, RAS axes) and their 4x4 affine.
    """
    volumes, affine = {}, None
    for name in ('t1', 'gm', 'wm'):
        image = nib.load(
            nilearn_file('datasets/data/' + TEMPLATE.format(name))
        )
        voxels = np.asarray(image.dataobj, dtype=np.float32) / 255.0
        resampled = Spacing(pixdim=spacing, mode='bilinear')(
            MetaTensor(
                torch.from_numpy(voxels)[None],
                affine=torch.as_tensor(image.affine, dtype=torch.float64),
            )
        )
        volumes[name] = resampled[0].numpy()
        affine = np.asarray(resampled.affine, dtype=np.float64)
    return volumes, affine


def tissue_labels(
    t1: np.ndarray, gm: np.ndarray, wm: np.ndarray
) -> np.ndarray:
    """Label every voxel background (0), CSF (1), GM (2) or WM (3).

    Args:
        t1 (np.ndarray): T1 intensities.
        gm (np.ndarray): GM probabilities.
        wm (np.ndarray): WM probabilities.

    Returns:
        np.ndarray: uint8 labels, the shape of ``t1``.
    """
    white = (wm >= TISSUE_THRESHOLD) & (wm >= gm)
    grey = (gm >= TISSUE_THRESHOLD) & (gm > wm)
    envelope = ndimage.binary_closing(
        gm + wm > 0.5, iterations=ENVELOPE_CLOSING
    )
    envelope = ndimage.binary_fill_holes(
        ndimage.binary_dilation(envelope, iterations=ENVELOPE_MARGIN)
    )
    dark = t1 < CSF_T1_FRACTION * np.median(t1[grey])
    labels = np.zeros(t1.shape, np.uint8)
    labels[envelope & dark & ~grey & ~white] = 1
    labels[grey] = 2
    labels[white] = 3
    return labels


def label_shares(labels: np.ndarray) -> Dict[str, float]:
    """The fraction of voxels of each class.

    Args:
        labels (np.ndarray): A label volume.

    Returns:
        dict[str, float]: By class name.
    """
    counts = np.bincount(labels.ravel(), minlength=len(CLASSES))
    return {
        name: float(count) / labels.size
        for name, count in zip(CLASSES, counts)
    }


def brain_box(labels: np.ndarray) -> Tuple[slice, slice, slice]:
    """The labelled voxels' bounding box, :data:`BOX_MARGIN` wider.

    Args:
        labels (np.ndarray): A label volume.

    Returns:
        tuple[slice, slice, slice]: The box along each axis.
    """
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        used = np.flatnonzero(labels.any(axis=other))
        box.append(
            slice(
                max(int(used[0]) - BOX_MARGIN, 0),
                min(int(used[-1]) + BOX_MARGIN + 1, labels.shape[axis]),
            )
        )
    return tuple(box)


def split_front_to_back(
    box: Tuple[slice, slice, slice],
) -> Dict[str, Tuple[slice, slice, slice]]:
    """Cut a box along y (posterior to anterior) into the three parts.

    Args:
        box (tuple[slice, slice, slice]): The brain's box.

    Returns:
        dict[str, tuple]: ``test`` (posterior), ``validation`` and
        ``training`` (anterior) boxes; they tile ``box``.
    """
    start, stop = box[1].start, box[1].stop
    test_end = start + round(TEST_SHARE * (stop - start))
    val_end = test_end + round(VAL_SHARE * (stop - start))
    return {
        name: (box[0], slice(low, high), box[2])
        for name, low, high in (
            ('test', start, test_end),
            ('validation', test_end, val_end),
            ('training', val_end, stop),
        )
    }


def crop_affine(
    affine: np.ndarray, box: Tuple[slice, slice, slice]
) -> np.ndarray:
    """The affine of a box cut from a volume with ``affine``.

    Args:
        affine (np.ndarray): The volume's 4x4 affine.
        box (tuple[slice, slice, slice]): The box.

    Returns:
        np.ndarray: The box's 4x4 affine (its voxel 0 is the volume's voxel
        at the box's start).
    """
    shifted = affine.copy()
    corner = np.array([part.start for part in box], dtype=np.float64)
    shifted[:3, 3] = affine[:3, :3] @ corner + affine[:3, 3]
    return shifted


def write_mni_dataset(out_dir: str) -> str:
    """Write the labelled template as a Decathlon-layout dataset.

    Writes ``imagesTr/mni152_<part>.nii.gz`` (T1, float32) and
    ``labelsTr/mni152_<part>.nii.gz`` (uint8) for the parts ``training``,
    ``validation`` and ``test``, ``dataset.json`` (one pair in each list,
    and the label shares) and ``ATTRIBUTION.rst``; every file atomically.

    Args:
        out_dir (str): The output folder.

    Returns:
        str: The ``dataset.json`` path.
    """
    volumes, affine = load_template()
    labels = tissue_labels(volumes['t1'], volumes['gm'], volumes['wm'])
    index = dict(
        name='MNI152 tissues',
        tensorImageSize='3D',
        description=(
            'MNI ICBM152 2009a T1 at 2 mm with background, CSF, '
            'GM and WM labels; training is the anterior part, '
            'test the posterior part (see ATTRIBUTION.rst)'
        ),
        licence='see ATTRIBUTION.rst',
        modality={'0': 'T1'},
        labels={str(i): name for i, name in enumerate(CLASSES)},
        shares=label_shares(labels),
    )
    for part, box in split_front_to_back(brain_box(labels)).items():
        name = f'mni152_{part}.nii.gz'
        part_affine = crop_affine(affine, box)
        save_nifti(
            osp.join(out_dir, 'imagesTr', name),
            np.ascontiguousarray(volumes['t1'][box]),
            part_affine,
        )
        save_nifti(
            osp.join(out_dir, 'labelsTr', name),
            np.ascontiguousarray(labels[box]),
            part_affine,
        )
        index[part] = [
            dict(image=f'./imagesTr/{name}', label=f'./labelsTr/{name}')
        ]
    index['numTraining'] = 1
    with open(nilearn_file(DESCRIPTION), encoding='utf-8') as file:
        atomic_write(
            osp.join(out_dir, 'ATTRIBUTION.rst'), REFERENCES + file.read()
        )
    json_path = osp.join(out_dir, 'dataset.json')
    atomic_write(json_path, json.dumps(index, indent=4) + '\n')
    return json_path
