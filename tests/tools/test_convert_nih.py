"""tools/data/nih_pancreas/convert_nih.py and
cakes_mm.datasets.volumetric.nih_pancreas on a tiny fake TCIA layout."""

import json
import os
import os.path as osp

import nibabel as nib
import numpy as np
from tool_helpers import run_tool
from volumetric_helpers import make_case, whole_volume_pipeline, write_nifti

from cakes_mm.datasets.volumetric import MSDDataset
from cakes_mm.datasets.volumetric.nih_pancreas import convert_nih


def fake_nih(root, numbers=(1, 2, 3, 4, 5, 6)):
    """Patients as TCIA names them; odd ones are folders (a converter's
    output deep inside), even ones ``PANCREAS_<NNNN>.nii`` files."""
    images, labels = osp.join(root, 'Pancreas-CT'), osp.join(root, 'labels')
    for number in numbers:
        case = make_case(number, size=16, num_classes=2)
        if number % 2:
            image = osp.join(
                images,
                f'PANCREAS_{number:04}',
                '11-24-2015',
                'Pancreas-99667',
                'ct.nii.gz',
            )
        else:
            image = osp.join(images, f'PANCREAS_{number:04}.nii')
        write_nifti(image, (case['image'] * 1000).astype(np.int16))
        write_nifti(
            osp.join(labels, f'label{number:04}.nii.gz'), case['label']
        )
    return images, labels


def test_converts_with_four_contiguous_folds(tmp_path):
    images, labels = fake_nih(str(tmp_path))
    out = str(tmp_path / 'out')
    lines = []
    assert convert_nih(images, labels, out, echo=lines.append) == []
    assert lines  # it says what it does
    with open(osp.join(out, 'dataset.json')) as file:
        index = json.load(file)
    assert index['labels'] == {'0': 'background', '1': 'pancreas'}
    assert [(e['image'], e['fold']) for e in index['training']] == [
        (f'./imagesTr/pancreas_{n:04}.nii.gz', fold)
        for n, fold in zip(range(1, 7), (0, 0, 1, 2, 2, 3))
    ]
    source = osp.join(images, 'PANCREAS_0002.nii')
    copied = nib.load(osp.join(out, 'imagesTr/pancreas_0002.nii.gz'))
    np.testing.assert_array_equal(
        np.asarray(copied.dataobj), np.asarray(nib.load(source).dataobj)
    )
    np.testing.assert_array_equal(copied.affine, nib.load(source).affine)
    val = MSDDataset(
        ann_file=osp.join(out, 'dataset.json'),
        split='val',
        fold=2,
        num_folds=4,
        pipeline=whole_volume_pipeline(),
    )
    assert [
        osp.basename(val[i]['data_samples'].image_path) for i in range(2)
    ] == ['pancreas_0004.nii.gz', 'pancreas_0005.nii.gz']
    train = MSDDataset(
        ann_file=osp.join(out, 'dataset.json'),
        fold=2,
        num_folds=4,
        pipeline=whole_volume_pipeline(),
    )
    assert len(train) == 4


def test_the_tool_prints_one_line_per_problem(tmp_path):
    images, labels = fake_nih(str(tmp_path), numbers=(1, 2, 3, 4))
    os.remove(osp.join(labels, 'label0002.nii.gz'))
    dicom_only = osp.join(images, 'PANCREAS_0005', 'series')
    os.makedirs(dicom_only)
    open(osp.join(dicom_only, '1-001.dcm'), 'wb').close()
    write_nifti(
        osp.join(labels, 'label0005.nii.gz'), np.zeros((16, 16, 16), np.uint8)
    )
    tumour = make_case(3, size=16, num_classes=3)['label']
    write_nifti(osp.join(labels, 'label0003.nii.gz'), tumour)
    write_nifti(osp.join(labels, 'label0009.nii.gz'), tumour)
    out = tmp_path / 'out'
    result = run_tool(
        [
            'data/nih_pancreas/convert_nih.py',
            images,
            labels,
            '--out',
            str(out),
        ],
        str(tmp_path),
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().endswith(
        '4 problem(s) (no dataset.json written)'
    )
    errors = [
        line
        for line in result.stderr.splitlines()
        if line.startswith('error: ')
    ]
    assert errors == [
        f'error: {images}/PANCREAS_0002.nii: no label0002.nii.gz in {labels}',
        f'error: {labels}/label0009.nii.gz: no PANCREAS_0009 in {images}',
        f'error: {labels}/label0003.nii.gz: label values 2 are not among '
        'the declared labels 0..1 (patient 0003)',
        f'error: {images}/PANCREAS_0005: no NIfTI image inside (DICOM '
        'series are not read); convert the series first, e.g. dcm2niix '
        f'-z y -o {images}/PANCREAS_0005 {images}/PANCREAS_0005',
    ]
    assert not (out / 'dataset.json').exists()
