"""Turn the NIH Pancreas-CT download into a Decathlon-layout dataset.

The library side of ``tools/data/nih_pancreas/convert_nih.py``.

Input (TCIA's layout): an images folder with one entry per patient,
``PANCREAS_0001`` .. ``PANCREAS_0082``, and a labels folder with
``label0001.nii.gz`` ..; pairs are matched by the 4-digit number. A
patient's image must be NIfTI: ``PANCREAS_0001.nii.gz`` (or ``.nii``) in
the images folder, or a single ``.nii``/``.nii.gz`` file anywhere inside
the patient's folder, as a DICOM-to-NIfTI converter such as ``dcm2niix``
leaves it. DICOM series themselves are not read: a patient folder holding
only DICOM files is reported as a problem that says to convert it.

Output: ``imagesTr/pancreas_0001.nii.gz``, ``labelsTr/pancreas_0001.nii.gz``
(the checked files, byte for byte, gzipped if they were not) and a
``dataset.json`` with ``labels`` ``{"0": "background", "1": "pancreas"}``
and every pair in ``training`` with its ``fold`` for the paper's 4-fold
cross-validation: the patients sorted by number and cut into 4 contiguous
blocks of near-equal size (82 patients: 21, 20, 21, 20). ``MSDDataset``
with ``fold=f, num_folds=4`` trains on three folds and validates on fold f.
"""

import glob
import gzip
import json
import os
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Tuple

from cakes_mm.fileio import atomic_write

from ..errors import BadSampleError
from .decathlon_json import fold_of_position
from .nifti_checks import check_pair

#: The paper's cross-validation for NIH Pancreas-CT.
NUM_FOLDS = 4
LABELS = {'0': 'background', '1': 'pancreas'}
_PATIENT = re.compile(r'^PANCREAS_(\d{4})(\.nii(\.gz)?)?$')
_LABEL = re.compile(r'^label(\d{4})\.nii(\.gz)?$')


def find_labels(labels_dir: str) -> Dict[str, str]:
    """The label files by 4-digit patient number.

    Args:
        labels_dir (str): Folder of ``label<NNNN>.nii.gz`` files.

    Returns:
        dict[str, str]: ``{'0001': '<labels_dir>/label0001.nii.gz'}``.
    """
    found = {}
    for name in sorted(os.listdir(labels_dir)):
        match = _LABEL.match(name)
        if match:
            found[match.group(1)] = osp.join(labels_dir, name)
    return found


def patient_image(path: str) -> str:
    """The NIfTI image of a patient entry (a file, or a folder holding one).

    Args:
        path (str): ``PANCREAS_0001.nii.gz`` or the ``PANCREAS_0001``
            folder.

    Returns:
        str: The image file.
    """
    if osp.isfile(path):
        return path
    files = sorted(
        found
        for pattern in ('*.nii', '*.nii.gz')
        for found in glob.glob(
            osp.join(glob.escape(path), '**', pattern), recursive=True
        )
    )
    if len(files) == 1:
        return files[0]
    if files:
        raise BadSampleError(
            f'{path}: holds {len(files)} NIfTI files; keep only the CT image'
        )
    raise BadSampleError(
        f'{path}: no NIfTI image inside (DICOM series are not read); '
        'convert the series first, e.g. dcm2niix -z y -o ' + path + ' ' + path
    )


def find_images(images_dir: str) -> Dict[str, str]:
    """The patient entries by 4-digit number.

    Args:
        images_dir (str): Folder of ``PANCREAS_<NNNN>`` entries.

    Returns:
        dict[str, str]: ``{'0001': '<images_dir>/PANCREAS_0001'}``.
    """
    found = {}
    for name in sorted(os.listdir(images_dir)):
        match = _PATIENT.match(name)
        if match:
            found[match.group(1)] = osp.join(images_dir, name)
    return found


def copy_as_nii_gz(source: str, target: str) -> None:
    """Copy a NIfTI file to ``target`` (``.nii.gz``) atomically.

    Args:
        source (str): A ``.nii`` or ``.nii.gz`` file.
        target (str): The destination.
    """
    with open(source, 'rb') as file:
        data = file.read()
    if not source.endswith('.gz'):
        data = gzip.compress(data, compresslevel=1, mtime=0)
    atomic_write(target, data)


def match_pairs(
    images_dir: str, labels_dir: str
) -> Tuple[Dict[str, Tuple[str, str]], List[str]]:
    """Pair the patients' images with their labels.

    Args:
        images_dir (str): The images folder.
        labels_dir (str): The labels folder.

    Returns:
        tuple[dict, list[str]]: ``{number: (image entry, label file)}``
        and one line per unpaired file.
    """
    problems = [
        f'{folder}: folder not found'
        for folder in (images_dir, labels_dir)
        if not osp.isdir(folder)
    ]
    if problems:
        return {}, problems
    images, labels = find_images(images_dir), find_labels(labels_dir)
    problems = [
        f'{images[n]}: no label{n}.nii.gz in {labels_dir}'
        for n in sorted(set(images) - set(labels))
    ]
    problems += [
        f'{labels[n]}: no PANCREAS_{n} in {images_dir}'
        for n in sorted(set(labels) - set(images))
    ]
    pairs = {
        n: (images[n], labels[n]) for n in sorted(set(images) & set(labels))
    }
    if not pairs and not problems:
        problems.append(f'{images_dir}: no PANCREAS_<NNNN> entries')
    return pairs, problems


def convert_nih(
    images_dir: str,
    labels_dir: str,
    out_dir: str,
    echo: Callable[[str], None] = print,
) -> List[str]:
    """Check every pair and write the Decathlon-layout dataset.

    Args:
        images_dir (str): The ``PANCREAS_<NNNN>`` entries.
        labels_dir (str): The ``label<NNNN>.nii.gz`` files.
        out_dir (str): The output folder.
        echo (Callable[[str], None]): Receives one progress line per
            patient. Defaults to ``print``.

    Returns:
        list[str]: One line per problem, naming the file; the
        ``dataset.json`` is written only when there is none.
    """
    pairs, problems = match_pairs(images_dir, labels_dir)
    written: List[Optional[dict]] = []
    for done, (number, (entry, label)) in enumerate(pairs.items(), 1):
        name = f'pancreas_{number}.nii.gz'
        try:
            image = patient_image(entry)
            _, _, grid = check_pair(
                image, label, len(LABELS), f'patient {number}'
            )
        except BadSampleError as error:
            problems.append(str(error))
            echo(f'[{done}/{len(pairs)}] PANCREAS_{number}: bad')
            continue
        copy_as_nii_gz(image, osp.join(out_dir, 'imagesTr', name))
        copy_as_nii_gz(label, osp.join(out_dir, 'labelsTr', name))
        echo(
            f'[{done}/{len(pairs)}] PANCREAS_{number}: '
            f'{"x".join(map(str, grid.shape))}'
        )
        written.append(
            dict(image=f'./imagesTr/{name}', label=f'./labelsTr/{name}')
        )
    if not problems:
        write_nih_index(written, osp.join(out_dir, 'dataset.json'))
    return problems


def write_nih_index(entries: List[dict], path: str) -> None:
    """Write the ``dataset.json`` with the 4 folds.

    Args:
        entries (list[dict]): The pairs, sorted by patient number.
        path (str): The output file.
    """
    training = [
        dict(entry, fold=fold_of_position(i, len(entries), NUM_FOLDS))
        for i, entry in enumerate(entries)
    ]
    index = dict(
        name='NIH Pancreas-CT',
        description=(
            '82 contrast-enhanced abdominal CTs (TCIA). "fold": '
            'the 4-fold cross-validation, patients in number '
            'order cut into 4 contiguous blocks.'
        ),
        reference='https://doi.org/10.7937/K9/TCIA.2016.tNB1kqBU',
        tensorImageSize='3D',
        modality={'0': 'CT'},
        labels=LABELS,
        numTraining=len(training),
        numFolds=NUM_FOLDS,
        training=training,
    )
    atomic_write(path, json.dumps(index, indent=4) + '\n')
