"""tools/data/msd/prepare_msd.py: check and resample a Decathlon task."""

import json
import os
import os.path as osp

import nibabel as nib
import numpy as np
import pytest
from tool_helpers import run_tool
from volumetric_helpers import (
    grid_affine,
    whole_volume_pipeline,
    write_json,
    write_msd_dataset,
    write_nifti,
)

from cakes_mm.datasets.volumetric import MSDDataset
from cakes_mm.datasets.volumetric.msd_tools import prepare_task


def voxels(path):
    return np.asarray(nib.load(path).dataobj)


def test_resamples_to_1mm_keeping_labels(tmp_path):
    task = osp.dirname(
        write_msd_dataset(
            str(tmp_path / 'task'), 3, 1, spacing=(2.0, 2.0, 2.0)
        )
    )
    out = str(tmp_path / 'out')
    lines = []
    assert prepare_task(task, out, echo=lines.append) == []
    assert lines[0] == (
        '[1/3] case_0.nii.gz: 32x32x32 @ 2.00x2.00x2.00 mm '
        '-> 63x63x63 @ 1.00x1.00x1.00 mm'
    )
    for name in ('imagesTr/case_2.nii.gz', 'labelsTr/case_2.nii.gz'):
        image = nib.load(osp.join(out, name))
        assert image.header.get_zooms() == (1.0, 1.0, 1.0)
        np.testing.assert_allclose(image.affine, grid_affine((1, 1, 1)))
    before = voxels(osp.join(task, 'labelsTr/case_2.nii.gz'))
    after = voxels(osp.join(out, 'labelsTr/case_2.nii.gz'))
    assert after.dtype == before.dtype
    assert set(np.unique(after)) == set(np.unique(before))
    # Every second output voxel sits on an input voxel's centre.
    np.testing.assert_array_equal(after[::2, ::2, ::2], before)
    image_in = voxels(osp.join(task, 'imagesTr/case_2.nii.gz'))
    image_out = voxels(osp.join(out, 'imagesTr/case_2.nii.gz'))
    np.testing.assert_allclose(image_out[::2, ::2, ::2], image_in, atol=1e-5)
    # Halfway between two centres, trilinear gives the mean of the two.
    np.testing.assert_allclose(
        image_out[1, 0, 0], image_in[:2, 0, 0].mean(), atol=1e-5
    )
    with open(osp.join(out, 'dataset.json')) as file:
        index = json.load(file)
    assert index['spacing'] == [1.0, 1.0, 1.0]
    assert [len(index['training']), len(index['validation'])] == [2, 1]
    dataset = MSDDataset(
        ann_file=osp.join(out, 'dataset.json'),
        split='val',
        pipeline=whole_volume_pipeline(),
        test_mode=True,
    )
    assert dataset[0]['inputs'].shape == (1, 63, 63, 63)


def test_already_1mm_is_unchanged(tmp_path):
    task = osp.dirname(write_msd_dataset(str(tmp_path / 'task'), 1))
    out = str(tmp_path / 'out')
    assert prepare_task(task, out, echo=lambda line: None) == []
    for name in ('imagesTr/case_0.nii.gz', 'labelsTr/case_0.nii.gz'):
        np.testing.assert_array_equal(
            voxels(osp.join(out, name)), voxels(osp.join(task, name))
        )


def break_task(task):
    """Spoil three of five pairs in three ways."""
    label = voxels(osp.join(task, 'labelsTr/case_1.nii.gz')).copy()
    label[3, 3, 3] = 7
    write_nifti(osp.join(task, 'labelsTr/case_1.nii.gz'), label)
    write_nifti(
        osp.join(task, 'labelsTr/case_2.nii.gz'),
        np.zeros((32, 31, 32), np.uint8),
    )
    os.remove(osp.join(task, 'imagesTr', 'case_3.nii.gz'))


@pytest.mark.slow
def test_bad_folder_is_reported_one_line_per_problem(tmp_path):
    task = osp.dirname(write_msd_dataset(str(tmp_path / 'task'), 5))
    break_task(task)
    out = tmp_path / 'out'
    result = run_tool(
        ['data/msd/prepare_msd.py', task, '--out', str(out)], cwd=str(tmp_path)
    )
    assert result.returncode == 1
    errors = [
        line
        for line in result.stderr.splitlines()
        if line.startswith('error: ')
    ]
    json_path = osp.join(task, 'dataset.json')
    assert errors == [
        f'error: {task}/labelsTr/case_1.nii.gz: label values 7 are not '
        f'among the declared labels 0..2 ({json_path}: training[1])',
        f'error: {task}/labelsTr/case_2.nii.gz: shape [32, 31, 32] differs '
        f'from the image {task}/imagesTr/case_2.nii.gz, [32, 32, 32] '
        f'({json_path}: training[2])',
        f'error: {task}/imagesTr/case_3.nii.gz: file not found',
    ]
    assert '3 problem(s) (no dataset.json written)' in result.stderr
    assert '[5/5] case_4.nii.gz: 32x32x32' in result.stdout
    assert not (out / 'dataset.json').exists()
    assert (out / 'imagesTr' / 'case_4.nii.gz').exists()


def test_check_only_and_malformed_json(tmp_path):
    task = osp.dirname(write_msd_dataset(str(tmp_path / 'task'), 2))
    assert prepare_task(task, echo=lambda line: None) == []
    path = write_json(
        osp.join(task, 'dataset.json'),
        [dict(image='imagesTr/case_0.nii.gz', label=None)],
    )
    assert prepare_task(task, echo=lambda line: None) == [
        f'{path}: training[0]: "label" must be a file path, got None'
    ]


def test_other_spacing_covers_the_extent(tmp_path):
    spacing = (1.5, 1.5, 1.5)
    task = osp.dirname(write_msd_dataset(str(tmp_path / 'task'), 1))
    out = str(tmp_path / 'out')
    assert prepare_task(task, out, spacing, echo=lambda line: None) == []
    image = nib.load(osp.join(out, 'imagesTr/case_0.nii.gz'))
    assert image.header.get_zooms() == spacing
    # The smallest grid whose centres span the input's 31 mm.
    assert image.shape == (22, 22, 22) and 21 * 1.5 >= 31 > 20 * 1.5
