"""The volumetric configs: the networks' contract, the papers' recipes, and
each dataset's own pipeline run on tiny data put in with --cfg-options
style overrides."""

import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.config import Config
from volumetric_helpers import grid_affine, make_case, write_json, write_nifti

from cakes_mm.datasets import BadInputError
from tools.segmentation_helpers import ALL_OPS, VOLUMETRIC, write_em_dataset

CONFIGS = sorted(glob.glob(osp.join(VOLUMETRIC, '*.py')))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
NETWORKS = {'C2FNAS', 'UNet3D', 'DenseNet3D'}
OP_TYPES = {'conv3d', 'conv2d', 'p3d', 'cakes', 'cakes_search', 'pmscn'}


def load(name):
    return Config.fromfile(osp.join(VOLUMETRIC, name))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_every_config_keeps_the_contract(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(
        imports=['cakes_mm'], allow_failed_imports=False
    )
    network = cfg.model.network
    assert cfg.model.type in ('VolumeSegmentor', 'AffinitySegmentor')
    assert network.type in NETWORKS
    assert (network.spatial_dims, network.in_channels) == (3, 1)
    op = network.op
    assert isinstance(op, dict) and op.type in OP_TYPES
    for loader in LOADERS:
        dataset = cfg[loader].dataset
        if dataset.type == 'RepeatDataset':  # one volume, many crops
            dataset = dataset.dataset
        assert dataset.data_root and dataset.ann_file == 'dataset.json'
    assert cfg.default_hooks.finite_loss.type == 'FiniteLossHook'
    assert cfg.default_hooks.random_state.type == 'RandomStateHook'
    assert cfg.val_dataloader.batch_size == 1  # whole volumes


def test_msd_recipe_of_the_cakes_paper():
    cfg = load('c3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py')
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=4e-5
    )
    (poly,) = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min) == ('PolyLR', 0.9, 0.0)
    assert (
        cfg.train_dataloader.batch_size * 4
        == cfg.auto_scale_lr.base_batch_size
        == 8
    )
    assert cfg.model.test_cfg.roi_size == (96, 96, 96)
    assert cfg.model.test_cfg.stride == 32
    assert cfg.model.loss.type == 'monai.losses.DiceCELoss'
    assert cfg.model.network.out_channels == 3
    train = cfg.train_dataloader.dataset
    assert (train.fold, train.num_folds, train.split) == (1, 5, 'train')
    rotations = [
        t.spatial_axes for t in train.pipeline if t.type == 'RandRotate90d'
    ]
    flips = [t.spatial_axis for t in train.pipeline if t.type == 'RandFlipd']
    assert sorted(rotations) == [(0, 1), (0, 2), (1, 2)]
    assert flips == [0, 1, 2]


def test_nih_setting():
    for name in (
        'c3d_c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py',
        'cakes-123d-perf-retrain_c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py',
    ):
        cfg = load(name)
        assert cfg.model.test_cfg.roi_size == (96, 96, 64)
        assert cfg.model.test_cfg.stride == 20
        assert cfg.model.network.out_channels == 2
        for loader in LOADERS:
            assert cfg[loader].dataset.num_folds == 4


def test_manual_and_search_op_sets():
    manual = {
        '1d': ['kx1x1', '1xkx1', '1x1xk'],
        '2d': ['1xkxk', 'kx1xk', 'kxkx1'],
        '123d': ALL_OPS,
    }
    for name, ops in manual.items():
        op = load(
            f'cakes-{name}-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
        ).model.network.op
        assert op == dict(type='cakes', op_set=ops)
    for mode, short in (('performance', 'perf'), ('cost', 'cost')):
        cfg = load(
            f'cakes-123d-{short}-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
        )
        assert cfg.model.network.op == dict(
            type='cakes_search', op_set=ALL_OPS, mode=mode, derive='argmax'
        )
        lasso = cfg.model.arch_loss
        assert (lasso.type, lasso.loss_weight, lasso.get('beta')) == (
            'CostLasso',
            1e-4,
            None,
        )  # beta: kernel volume / 39
        (hook,) = cfg.custom_hooks
        assert hook.type == 'CAKESSearchHook'
        assert 0 < hook.freeze_at < cfg.train_cfg.max_epochs
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys == {
            '.search_bn.': dict(decay_mult=0.0)
        }
    retrain = load(
        'cakes-123d-perf-retrain_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    )
    assert retrain.model.network.op.arch.endswith(
        'cakes-123d-perf-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct/arch_final.json'
    )


def test_pmscn_settings():
    em = load('p2sc2_unet3d_1xb1-64x64x64-300k_fibsem-em.py')
    assert em.model.type == 'AffinitySegmentor'
    assert em.model.network.op == dict(type='pmscn', m=2, n=2)
    assert em.model.network.out_channels == 3
    assert em.train_cfg.max_iters == 300000
    assert all(em[loader].dataset.instance_labels for loader in LOADERS)
    assert em.test_evaluator.type == 'VariationOfInformation'
    assert em.default_hooks.checkpoint.rule == 'less'
    mri = load('p2sc3_densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py')
    assert mri.model.network.op == dict(type='pmscn', m=2, n=3)
    assert mri.model.network.out_channels == 4
    assert mri.test_dataloader.dataset.split == 'test'
    assert mri.val_dataloader.dataset.split == 'val'


def write_cases(root, num, num_classes, lists):
    """``num`` 32^3 cases with ``num_classes`` labels; ``lists`` maps a
    dataset.json list name to case indices."""
    entries = []
    for i in range(num):
        case = make_case(i, 32, num_classes)
        for key in ('image', 'label'):
            write_nifti(
                osp.join(root, f'{key}s', f'{i}.nii.gz'),
                case[key],
                grid_affine(),
            )
        entries.append(
            dict(image=f'images/{i}.nii.gz', label=f'labels/{i}.nii.gz')
        )
    names = ['background', 'a', 'b', 'c'][:num_classes]
    chosen = {
        name: [entries[i] for i in indices] for name, indices in lists.items()
    }
    write_json(
        osp.join(root, 'dataset.json'),
        chosen.pop('training'),
        labels={str(i): n for i, n in enumerate(names)},
        **chosen,
    )


def item(cfg, loader, root):
    dataset = dict(cfg[loader].dataset, data_root=str(root))
    return DATASETS.build(dataset)[0]


@pytest.mark.parametrize(
    'name,classes,lists,crop',
    [
        (
            'cakes-123d-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
            3,
            dict(training=range(5)),
            (96, 96, 96),
        ),
        (
            'c3d_c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py',
            2,
            dict(training=range(4)),
            (96, 96, 64),
        ),
        (
            'p2sc3_densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py',
            4,
            dict(training=[0, 1], validation=[2], test=[3]),
            (64, 64, 64),
        ),
    ],
)
def test_pipelines_crop_for_training_and_keep_whole_volumes(
    tmp_path, name, classes, lists, crop
):
    write_cases(tmp_path, 5, classes, lists)
    cfg = load(name)
    train = item(cfg, 'train_dataloader', tmp_path)
    assert train['inputs'].shape == (1, *crop)
    assert train['data_samples'].gt_seg.shape == (1, *crop)
    assert int(train['data_samples'].gt_seg.max()) < classes
    for loader in ('val_dataloader', 'test_dataloader'):
        whole = item(cfg, loader, tmp_path)
        assert whole['inputs'].shape == (1, 32, 32, 32)


def test_em_pipeline_keeps_instance_ids(tmp_path):
    write_em_dataset(str(tmp_path))
    cfg = load('c3d_unet3d_1xb1-64x64x64-300k_fibsem-em.py')
    labels = DATASETS.build(
        dict(cfg.test_dataloader.dataset, data_root=str(tmp_path))
    )
    whole = labels[0]['data_samples'].gt_seg
    assert whole.unique().numel() > 2  # more ids than the json's classes
    crop = item(cfg, 'train_dataloader', tmp_path)
    assert (
        crop['inputs'].shape
        == crop['data_samples'].gt_seg.shape
        == (1, 64, 64, 64)
    )


@pytest.mark.parametrize('bad', [1.5, -2])
def test_em_dataset_refuses_what_is_no_instance_id(tmp_path, bad):
    write_em_dataset(str(tmp_path))
    path = tmp_path / 'labels' / 'em_1.nii.gz'
    label = np.zeros((32, 32, 32), dtype=np.float32)
    label[0, 0, 0] = bad
    write_nifti(str(path), label, grid_affine())
    cfg = load('c3d_unet3d_1xb1-64x64x64-300k_fibsem-em.py')
    dataset = DATASETS.build(
        dict(cfg.test_dataloader.dataset, data_root=str(tmp_path))
    )
    with pytest.raises(
        BadInputError,
        match=re.escape(f'{path}: label values {bad:g} are not instance ids'),
    ):
        dataset[0]
    assert torch.is_tensor(item(cfg, 'train_dataloader', tmp_path)['inputs'])
