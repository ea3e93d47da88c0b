"""The demo's labelled MNI brain (cakes_mm/demo/mni_brain.py)."""

import json
import os.path as osp

import nibabel as nib
import numpy as np
import pytest
from volumetric_helpers import whole_volume_pipeline

from cakes_mm.datasets.volumetric import MSDDataset
from cakes_mm.demo import mni_brain

PARTS = ('training', 'validation', 'test')


@pytest.fixture(scope='module')
def template():
    volumes, affine = mni_brain.load_template()
    labels = mni_brain.tissue_labels(
        volumes['t1'], volumes['gm'], volumes['wm']
    )
    return volumes, affine, labels


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    return mni_brain.write_mni_dataset(str(tmp_path_factory.mktemp('mni')))


def load_part(json_path, part, kind='label'):
    with open(json_path) as file:
        entry = json.load(file)[part][0]
    image = nib.load(osp.join(osp.dirname(json_path), entry[kind]))
    return np.asarray(image.dataobj), image.affine


def test_template_is_2mm_ras(template):
    volumes, affine, labels = template
    np.testing.assert_allclose(np.diag(affine), [2, 2, 2, 1])
    assert labels.shape == volumes['t1'].shape == (99, 117, 95)


def test_label_shares_are_ibsr_like(template, written):
    shares = mni_brain.label_shares(template[2])
    assert 0.74 <= shares['background'] <= 0.82
    assert 0.02 <= shares['CSF'] <= 0.05
    assert 0.10 <= shares['GM'] <= 0.15
    assert 0.05 <= shares['WM'] <= 0.09
    with open(written) as file:
        assert json.load(file)['shares'] == pytest.approx(shares)


def test_template_is_symmetric_so_the_split_is_not_left_right(template):
    labels = template[2]
    brain = labels > 0
    agree = (labels == labels[::-1]) & (brain | brain[::-1])
    assert agree.sum() / (brain | brain[::-1]).sum() > 0.9


def test_parts_are_crops_with_correct_affines(template, written):
    volumes, affine, labels = template
    for part in PARTS:
        part_labels, part_affine = load_part(written, part)
        part_t1, image_affine = load_part(written, part, 'image')
        np.testing.assert_array_equal(image_affine, part_affine)
        # Voxel (0, 0, 0) of the part is a whole voxel of the template.
        offset = np.linalg.solve(affine, part_affine[:, 3])[:3]
        np.testing.assert_allclose(offset, np.round(offset), atol=1e-9)
        np.testing.assert_allclose(part_affine[:3, :3], affine[:3, :3])
        box = tuple(
            slice(int(o), int(o) + n)
            for o, n in zip(np.round(offset), part_labels.shape)
        )
        np.testing.assert_array_equal(part_labels, labels[box])
        np.testing.assert_array_equal(part_t1, volumes['t1'][box])
        assert set(np.unique(part_labels)) == {0, 1, 2, 3}


def test_anterior_trains_posterior_tests_disjoint(written):
    spans = {}
    for part in PARTS:
        part_labels, part_affine = load_part(written, part)
        first_y = part_affine[1, 3]
        last_y = first_y + part_affine[1, 1] * (part_labels.shape[1] - 1)
        spans[part] = (first_y, last_y, part_labels.shape[1])
    assert spans['test'][1] < spans['validation'][0]
    assert spans['validation'][1] < spans['training'][0]
    assert spans['test'][1] + 2 == spans['validation'][0]  # adjacent slabs
    total = sum(span[2] for span in spans.values())
    assert spans['test'][2] == round(0.4 * total)
    assert spans['validation'][2] == round(0.1 * total)


def test_attribution_is_kept(written):
    with open(osp.join(osp.dirname(written), 'ATTRIBUTION.rst')) as file:
        text = file.read()
    with open(mni_brain.nilearn_file(mni_brain.DESCRIPTION)) as file:
        assert file.read() in text
    assert 'Fonov' in text and 'McConnell Brain Imaging Centre' in text


def test_the_dataset_loads(written):
    dataset = MSDDataset(
        ann_file=written,
        split='test',
        test_mode=True,
        pipeline=whole_volume_pipeline(),
    )
    assert dataset.metainfo['classes'] == ('background', 'CSF', 'GM', 'WM')
    item = dataset[0]
    assert item['inputs'].shape[0] == 1
    assert item['data_samples'].gt_seg.shape[1:] == item['inputs'].shape[1:]
