"""MSDDataset on a tiny generated Decathlon-layout dataset."""

import gzip
import os.path as osp
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from volumetric_helpers import (
    grid_affine,
    train_pipeline,
    whole_volume_pipeline,
    write_json,
    write_msd_dataset,
    write_nifti,
)

from cakes_mm.datasets import BadAnnotationError, BadSampleError, short_message
from cakes_mm.datasets.volumetric import MSDDataset
from cakes_mm.datasets.volumetric.nifti_checks import check_pair
from cakes_mm.engine.hooks.random_state_hook import (
    get_random_state,
    set_random_state,
)
from cakes_mm.structures import VolumeSegDataSample


@pytest.fixture
def tiny(tmp_path):
    """A dataset of 4 pairs: 3 in training, 1 in validation."""
    return write_msd_dataset(
        str(tmp_path / 'tiny'), num_cases=4, num_validation=1
    )


def file_voxels(path):
    return np.asarray(nib.load(path).dataobj)


def test_training_item_is_what_a_model_consumes(tiny):
    dataset = MSDDataset(ann_file=tiny, pipeline=train_pipeline(16))
    assert len(dataset) == 3
    assert dataset.metainfo['classes'] == ('background', 'organ', 'tumour')
    item = dataset[0]
    assert set(item) == {'inputs', 'data_samples'}
    inputs, sample = item['inputs'], item['data_samples']
    assert type(inputs) is torch.Tensor and inputs.dtype == torch.float32
    assert inputs.shape == (1, 16, 16, 16)
    assert isinstance(sample, VolumeSegDataSample)
    assert sample.gt_seg.dtype == torch.long
    assert sample.gt_seg.shape == (1, 16, 16, 16)
    assert set(sample.gt_seg.unique().tolist()) <= {0, 1, 2}
    assert inputs.min() >= -1 and inputs.max() <= 1
    root = osp.dirname(tiny)
    assert sample.image_path == osp.join(root, 'imagesTr', 'case_0.nii.gz')
    assert sample.label_path == osp.join(root, 'labelsTr', 'case_0.nii.gz')
    assert sample.original_shape == (32, 32, 32)
    assert sample.original_spacing == (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(sample.original_affine, grid_affine())
    assert sample.shape == (16, 16, 16) and sample.affine.shape == (4, 4)
    assert sample.ann_entry == f'{tiny}: training[0]'


def test_whole_volume_equals_the_files(tiny):
    dataset = MSDDataset(
        ann_file=tiny,
        pipeline=whole_volume_pipeline(),
        split='val',
        test_mode=True,
    )
    item = dataset[0]
    sample = item['data_samples']
    image = file_voxels(sample.image_path)
    label = file_voxels(sample.label_path)
    torch.testing.assert_close(item['inputs'][0], torch.from_numpy(image))
    assert torch.equal(sample.gt_seg[0], torch.from_numpy(label).long())
    # The file is already RAS, so Orientationd keeps the grid.
    np.testing.assert_allclose(sample.affine, sample.original_affine)


def test_whole_volumes_of_different_sizes_collate_as_lists(tmp_path):
    root = str(tmp_path / 'mixed')
    write_msd_dataset(root, num_cases=2)
    path = write_msd_dataset(str(tmp_path / 'small'), num_cases=1, size=24)
    small = dict(
        image=osp.join(osp.dirname(path), 'imagesTr/case_0.nii.gz'),
        label=osp.join(osp.dirname(path), 'labelsTr/case_0.nii.gz'),
    )
    big = dict(image='imagesTr/case_0.nii.gz', label='labelsTr/case_0.nii.gz')
    json_path = write_json(osp.join(root, 'dataset.json'), [big, small])
    dataset = MSDDataset(
        ann_file=json_path, pipeline=whole_volume_pipeline(), test_mode=True
    )
    batch = pseudo_collate([dataset[0], dataset[1]])
    assert [tuple(x.shape) for x in batch['inputs']] == [
        (1, 32, 32, 32),
        (1, 24, 24, 24),
    ]
    assert [s.gt_seg.shape[1:] for s in batch['data_samples']] == [
        (32, 32, 32),
        (24, 24, 24),
    ]


def test_built_from_a_config_with_data_root(tiny):
    dataset = DATASETS.build(
        dict(
            type='MSDDataset',
            data_root=osp.dirname(tiny),
            ann_file='dataset.json',
            pipeline=whole_volume_pipeline(),
            split='train',
            fold=0,
            num_folds=3,
        )
    )
    assert len(dataset) == 2  # 3 training cases, fold 0 held out
    val = DATASETS.build(
        dict(
            type='MSDDataset',
            data_root=osp.dirname(tiny),
            ann_file='dataset.json',
            pipeline=whole_volume_pipeline(),
            split='val',
            fold=0,
            num_folds=3,
        )
    )
    train_images = {dataset[i]['data_samples'].image_path for i in range(2)}
    assert val[0]['data_samples'].image_path not in train_images
    assert val[0]['data_samples'].image_path.endswith('case_0.nii.gz')


@pytest.mark.parametrize('num_samples', [1, 2])
def test_pos_neg_crops_give_one_sample_per_volume(tiny, num_samples):
    keys = ['image', 'label']
    crop = dict(
        type='RandCropByPosNegLabeld',
        keys=keys,
        label_key='label',
        spatial_size=[8, 8, 8],
        pos=1,
        neg=1,
        num_samples=num_samples,
    )
    dataset = MSDDataset(
        ann_file=tiny, pipeline=[*whole_volume_pipeline(), crop]
    )
    if num_samples == 1:
        item = dataset[0]
        assert item['inputs'].shape == (1, 8, 8, 8)
        assert item['data_samples'].gt_seg.shape == (1, 8, 8, 8)
    else:
        with pytest.raises(ValueError, match='made 2 samples from one'):
            dataset[0]


def test_pipeline_without_loader_is_refused(tiny):
    with pytest.raises(ValueError, match="LoadImaged', keys=\\['image'"):
        MSDDataset(ann_file=tiny, pipeline=whole_volume_pipeline()[1:])
    with pytest.raises(ValueError, match="monai.transforms has no 'Nope'"):
        MSDDataset(ann_file=tiny, pipeline=[dict(type='Nope')])


def draw(dataset, indices=(0, 1, 2)):
    """The inputs and labels of a few items, one tensor each."""
    items = [dataset[i] for i in indices]
    return (
        torch.cat([x['inputs'].flatten() for x in items]),
        torch.cat([x['data_samples'].gt_seg.flatten() for x in items]),
    )


def test_random_transforms_follow_numpy_seed(tiny):
    first = MSDDataset(ann_file=tiny, pipeline=train_pipeline(16))
    second = MSDDataset(ann_file=tiny, pipeline=train_pipeline(16))
    np.random.seed(5)
    a = draw(first)
    np.random.seed(5)
    b = draw(second)
    np.random.seed(6)
    c = draw(first)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_saved_random_state_replays_the_augmentation(tiny):
    """What RandomStateHook restores on resume is all the pipeline uses."""
    dataset = MSDDataset(ann_file=tiny, pipeline=train_pipeline(16))
    np.random.seed(1)
    draw(dataset)
    state = get_random_state()
    expected = draw(dataset)
    draw(dataset)
    set_random_state(state)
    replay = draw(dataset)
    assert torch.equal(expected[0], replay[0])
    assert torch.equal(expected[1], replay[1])


def test_deterministic_pipeline_draws_nothing(tiny):
    dataset = MSDDataset(ann_file=tiny, pipeline=whole_volume_pipeline())
    np.random.seed(2)
    dataset[0]
    assert np.random.randint(1 << 30) == np.random.RandomState(2).randint(
        1 << 30
    )


@pytest.mark.parametrize('workers', [0, 2])
def test_dataloader_is_reproducible_under_the_runner_seed(tiny, workers):
    def batches(seed):
        loader = Runner.build_dataloader(
            dict(
                batch_size=1,
                num_workers=workers,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dict(
                    type='MSDDataset',
                    ann_file=tiny,
                    pipeline=train_pipeline(8),
                ),
            ),
            seed=seed,
        )
        np.random.seed(seed)  # what mmengine's set_random_seed does
        return torch.cat([b['inputs'][0].flatten() for b in loader])

    assert torch.equal(batches(3), batches(3))
    assert not torch.equal(batches(3), batches(4))


def bad_dataset(root, image, label, test_mode=False, skip=False):
    """A one-pair dataset over the given files (relative to root)."""
    path = write_json(
        osp.join(root, 'dataset.json'), [dict(image=image, label=label)]
    )
    return path, MSDDataset(
        ann_file=path,
        pipeline=whole_volume_pipeline(),
        test_mode=test_mode,
        skip_bad_samples=skip,
    )


def check_one_line(error, filename, reason, entry):
    message = str(error)
    assert '\n' not in message
    assert message.startswith(filename + ': '), message
    assert reason in message and entry in message


def test_missing_file_is_named(tiny):
    root = osp.dirname(tiny)
    path, dataset = bad_dataset(
        root, 'imagesTr/case_0.nii.gz', 'labelsTr/gone.nii.gz'
    )
    with pytest.raises(BadSampleError) as info:
        dataset[0]
    check_one_line(
        info.value,
        osp.join(root, 'labelsTr/gone.nii.gz'),
        'file not found',
        f'{path}: training[0]',
    )


def test_worker_error_reduces_to_the_one_line(tiny):
    """What tools/train.py prints when a DataLoader worker hits a bad pair."""
    root = osp.dirname(tiny)
    path, dataset = bad_dataset(
        root, 'imagesTr/case_0.nii.gz', 'labelsTr/gone.nii.gz'
    )
    loader = torch.utils.data.DataLoader(
        dataset, num_workers=1, collate_fn=pseudo_collate
    )
    with pytest.raises(BadSampleError) as info:
        next(iter(loader))
    check_one_line(
        short_message(info.value),
        osp.join(root, 'labelsTr/gone.nii.gz'),
        'file not found',
        f'{path}: training[0]',
    )


def test_shape_mismatch_is_named(tiny):
    root = osp.dirname(tiny)
    write_nifti(
        osp.join(root, 'labelsTr/short.nii.gz'),
        np.zeros((32, 32, 30), np.uint8),
    )
    path, dataset = bad_dataset(
        root, 'imagesTr/case_0.nii.gz', 'labelsTr/short.nii.gz'
    )
    with pytest.raises(BadSampleError) as info:
        dataset[0]
    check_one_line(
        info.value,
        osp.join(root, 'labelsTr/short.nii.gz'),
        'shape [32, 32, 30] differs from the image',
        f'{path}: training[0]',
    )


def test_affine_mismatch_is_named(tiny):
    root = osp.dirname(tiny)
    write_nifti(
        osp.join(root, 'labelsTr/moved.nii.gz'),
        np.zeros((32, 32, 32), np.uint8),
        grid_affine(origin=(-16.0, -20.0, 10.0)),
    )
    path, dataset = bad_dataset(
        root, 'imagesTr/case_0.nii.gz', 'labelsTr/moved.nii.gz'
    )
    with pytest.raises(BadSampleError) as info:
        dataset[0]
    check_one_line(
        info.value,
        osp.join(root, 'labelsTr/moved.nii.gz'),
        'affine differs from the image',
        'by up to 2 mm',
    )


def test_label_value_outside_labels_is_named(tiny):
    root = osp.dirname(tiny)
    label = file_voxels(osp.join(root, 'labelsTr/case_0.nii.gz')).copy()
    label[0, 0, 0] = 3
    write_nifti(osp.join(root, 'labelsTr/three.nii.gz'), label)
    path, dataset = bad_dataset(
        root, 'imagesTr/case_0.nii.gz', 'labelsTr/three.nii.gz'
    )
    with pytest.raises(BadSampleError) as info:
        dataset[0]
    check_one_line(
        info.value,
        osp.join(root, 'labelsTr/three.nii.gz'),
        'label values 3 are not among the declared labels 0..2',
        f'{path}: training[0]',
    )


@pytest.mark.parametrize(
    'value, counts',
    [(np.nan, '1 NaN and 0 infinite'), (-np.inf, '0 NaN and 1 infinite')],
    ids=['nan', 'inf'],
)
@pytest.mark.parametrize('test_mode', [False, True], ids=['train', 'test'])
def test_a_non_finite_image_voxel_is_named(tiny, value, counts, test_mode):
    root = osp.dirname(tiny)
    image = file_voxels(osp.join(root, 'imagesTr/case_0.nii.gz'))
    image = image.astype(np.float32)
    image[3, 4, 5] = value
    write_nifti(osp.join(root, 'imagesTr/bad.nii.gz'), image)
    path, dataset = bad_dataset(
        root, 'imagesTr/bad.nii.gz', 'labelsTr/case_0.nii.gz', test_mode
    )
    with pytest.raises(BadSampleError) as info:
        dataset[0]
    check_one_line(
        info.value,
        osp.join(root, 'imagesTr/bad.nii.gz'),
        f'{counts} voxel(s) of {image.size}; a volume must be finite',
        f'{path}: training[0]',
    )


def test_the_data_tools_refuse_a_non_finite_image(tiny):
    root = osp.dirname(tiny)
    good = osp.join(root, 'imagesTr/case_0.nii.gz')
    image = file_voxels(good).astype(np.float32)
    image[0, 0, 0] = np.inf
    bad = write_nifti(osp.join(root, 'imagesTr/inf.nii.gz'), image)
    label = osp.join(root, 'labelsTr/case_0.nii.gz')
    check_pair(good, label, 3, 'case 0')  # the original pair is fine
    with pytest.raises(BadSampleError, match=r'0 NaN and 1 infinite'):
        check_pair(bad, label, 3, 'case 0')


def test_not_a_nifti_is_named(tiny):
    root = osp.dirname(tiny)
    bad = osp.join(root, 'imagesTr/text.nii.gz')
    with open(bad, 'wb') as file:
        file.write(gzip.compress(b'not an image at all'))
    path, dataset = bad_dataset(
        root, 'imagesTr/text.nii.gz', 'labelsTr/case_0.nii.gz'
    )
    with pytest.raises(BadSampleError) as info:
        dataset[0]
    check_one_line(
        info.value, bad, 'not a readable NIfTI file', f'{path}: training[0]'
    )


def truncate(source, target):
    """Copy ``source`` without the last half of its compressed voxels."""
    with open(source, 'rb') as file:
        data = file.read()
    with open(target, 'wb') as file:
        file.write(data[: len(data) // 2])
    return target


def test_truncated_nifti_is_named_and_the_file_kept(tiny):
    root = osp.dirname(tiny)
    bad = truncate(
        osp.join(root, 'imagesTr/case_1.nii.gz'),
        osp.join(root, 'imagesTr/cut.nii.gz'),
    )
    size = osp.getsize(bad)
    path, dataset = bad_dataset(
        root, 'imagesTr/cut.nii.gz', 'labelsTr/case_1.nii.gz'
    )
    with pytest.raises(BadSampleError) as info:
        dataset[0]
    check_one_line(
        info.value,
        bad,
        'cannot read its voxels',
        'LoadImaged failed on sample 0',
    )
    assert osp.getsize(bad) == size


def test_malformed_json_is_named(tiny):
    root = osp.dirname(tiny)
    path = write_json(
        osp.join(root, 'dataset.json'), [dict(image='imagesTr/case_0.nii.gz')]
    )
    with pytest.raises(BadAnnotationError) as info:
        MSDDataset(ann_file=path, pipeline=whole_volume_pipeline())
    check_one_line(
        info.value, path, '"label" must be a file path', 'training[0]'
    )


def test_bad_pair_is_skipped_in_training_when_asked(tiny):
    root = osp.dirname(tiny)
    path = write_json(
        osp.join(root, 'dataset.json'),
        [
            dict(image='imagesTr/case_0.nii.gz', label='labelsTr/gone.nii.gz'),
            dict(
                image='imagesTr/case_1.nii.gz', label='labelsTr/case_1.nii.gz'
            ),
        ],
    )
    dataset = MSDDataset(
        ann_file=path, pipeline=whole_volume_pipeline(), skip_bad_samples=True
    )
    assert dataset[0]['data_samples'].image_path.endswith('case_1.nii.gz')
    assert dataset.skipped_samples == {0}


@pytest.mark.slow
def test_cakes_mm_imports_without_monai():
    """MONAI is imported where it is first used, not by ``import cakes_mm``;
    without it the dataset still registers, and building its pipeline is
    one error naming the extra."""
    code = (
        'import sys; sys.modules["monai"] = None; import cakes_mm; '
        'from mmaction.registry import DATASETS; '
        'from cakes_mm.datasets.volumetric import build_pipeline; '
        'print(DATASETS.get("MSDDataset") is not None, '
        'DATASETS.get("CheckedVideoDataset") is not None); '
        'build_pipeline([dict(type="LoadImaged", keys=["image"])])'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == ['True', 'True'], result.stderr
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'cakes_mm.extras.MissingExtraError: MSDDataset needs the '
        "'volumetric' extra (monai is missing): "
        'pip install -e ".[volumetric]"'
    )


def test_import_cakes_mm_leaves_monai_unimported():
    code = 'import sys, cakes_mm; print("monai" in sys.modules)'
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == ['False'], result.stderr
