"""Config file names, read from the configs, and the old names' map.

Every shipped config is named as in mmaction2 1.x
(docs/config_names.md)::

    {model}_{backbone}_{gpus}xb{batch}-{sampling}-{length}_{dataset}-{modality}

The parts after the backbone are read from the config itself
(:func:`schedule_part`, :func:`data_part`): ``tests/configs`` checks that
every name agrees with its config. The old names (mmaction2 0.x's
``{model}_{backbone}_{T}x{i}x{c}_{dataset}``) resolve for one release
through :data:`DEPRECATED_CONFIGS`, wherever our tools and apis take a
config (:func:`resolve_config`), with one :class:`RenamedConfigWarning`
(a :class:`DeprecationWarning`, shown by default) naming the new file.
"""

import os.path as osp
import warnings
from typing import Dict, List, Optional

from mmengine.config import Config

from .registry import PACKAGE_DIR, SCOPE

#: Where the package keeps its configs (a link to the repository's
#: ``configs/`` in a checkout, a copy in a wheel).
CONFIGS_DIR = osp.join(PACKAGE_DIR, '.mim', 'configs')

#: Steps that crop a training patch out of a volume -> their size key.
PATCH_STEPS = {
    'RandCropByPosNegLabeld': 'spatial_size',
    'RandSpatialCropd': 'roi_size',
}


def train_pipeline(cfg: Config) -> List[dict]:
    """The steps of the training dataset, through wrappers such as
    ``RepeatDataset`` (``dataset.dataset``)."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset
    return list(dataset.get('pipeline', []))


def sampling_part(cfg: Config) -> str:
    """How a training sample is cut: ``{clip_len}x{frame_interval}x
    {num_clips}`` for ``SampleFrames``, ``u{clip_len}`` for mmaction2's
    ``UniformSample`` (mmaction2 1.x's spelling, e.g. ``u16``), the patch
    ``DxHxW`` for a volumetric crop.

    Raises:
        ValueError: When the training pipeline has none of these steps.
    """
    for step in train_pipeline(cfg):
        kind = step.get('type')
        if kind == 'SampleFrames':
            return (
                f'{step["clip_len"]}x{step.get("frame_interval", 1)}'
                f'x{step.get("num_clips", 1)}'
            )
        if kind == 'UniformSample':
            clips = step.get('num_clips', 1)
            return f'u{step["clip_len"]}' + (f'x{clips}' if clips != 1 else '')
        if kind in PATCH_STEPS:
            return 'x'.join(str(size) for size in step[PATCH_STEPS[kind]])
    raise ValueError(
        f'{cfg.filename}: the training pipeline has no frame sampler '
        f'({", ".join(("SampleFrames", "UniformSample"))}) or patch crop '
        f'({", ".join(PATCH_STEPS)})'
    )


def length_part(cfg: Config) -> str:
    """``{max_epochs}e``, or ``{max_iters / 1000}k`` (``{max_iters}i`` when
    not whole thousands) for an iteration-based schedule."""
    train_cfg = cfg.get('train_cfg', {})
    if train_cfg.get('max_epochs'):
        return f'{train_cfg["max_epochs"]}e'
    iters = train_cfg.get('max_iters')
    if not iters:
        raise ValueError(
            f'{cfg.filename}: train_cfg has no max_epochs or max_iters'
        )
    return f'{iters // 1000}k' if iters % 1000 == 0 else f'{iters}i'


def gpus(cfg: Config) -> int:
    """The GPUs the recipe trains on: the total batch the learning rate is
    set for (``auto_scale_lr.base_batch_size``) over the batch per GPU.

    Raises:
        ValueError: When the config gives no total batch or one that is not
            a whole number of per-GPU batches.
    """
    batch = cfg.train_dataloader.batch_size
    total = cfg.get('auto_scale_lr', {}).get('base_batch_size')
    if not total or total % batch:
        raise ValueError(
            f'{cfg.filename}: auto_scale_lr.base_batch_size ({total}) must be '
            f'the total batch, a multiple of train_dataloader.batch_size '
            f'({batch})'
        )
    return total // batch


def schedule_part(cfg: Config) -> str:
    """``{gpus}xb{batch}-{sampling}-{length}``, e.g. ``8xb12-u8-70e``."""
    return (
        f'{gpus(cfg)}xb{cfg.train_dataloader.batch_size}'
        f'-{sampling_part(cfg)}-{length_part(cfg)}'
    )


def data_part(cfg: Config) -> str:
    """``{dataset}-{modality}``, e.g. ``sthv1-rgb``, from the config's
    ``dataset_name`` and ``modality`` (set by the dataset base configs).

    Raises:
        ValueError: When the config sets neither.
    """
    if not cfg.get('dataset_name') or not cfg.get('modality'):
        raise ValueError(
            f'{cfg.filename}: the config sets no dataset_name and modality'
        )
    return f'{cfg.dataset_name}-{cfg.modality}'


def config_name(model: str, backbone: str, cfg: Config) -> str:
    """The file name (without ``.py``) a config of ``model`` on
    ``backbone`` has, from its contents."""
    return f'{model}_{backbone}_{schedule_part(cfg)}_{data_part(cfg)}'


#: Old config path -> new, both relative to ``configs/``. Old names
#: resolve through it for one release (:func:`resolve_config`).
DEPRECATED_CONFIGS: Dict[str, str] = {
    '_base_/c2fnas_96x96x64_nih-pancreas.py': (
        '_base_/c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py'
    ),
    '_base_/c2fnas_96x96x96_msd-pancreas.py': (
        '_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    '_base_/cakes-search_c2fnas_96x96x96_msd-pancreas.py': (
        '_base_/cakes-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    '_base_/cakes_r50_16x1x1_sthv1.py': (
        '_base_/r50_8xb12-u16-70e_sthv1-rgb.py'
    ),
    '_base_/cakes_r50_8x1x1_sthv1.py': (
        '_base_/r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    '_base_/cakes_search-perf_r50_8x1x1_sthv1.py': (
        '_base_/cakes-perf-search_r50_8xb12-u8-140e_sthv1-rgb.py'
    ),
    '_base_/cakes_search_r50_8x1x1_sthv1.py': (
        '_base_/cakes-search_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    '_base_/datasets/fibsem_affinities_64x64x64.py': (
        '_base_/datasets/fibsem-em_64x64x64.py'
    ),
    '_base_/datasets/ibsr_64x64x64.py': (
        '_base_/datasets/ibsr-mri_64x64x64.py'
    ),
    '_base_/datasets/msd_pancreas_96x96x96.py': (
        '_base_/datasets/msd-pancreas-ct_96x96x96.py'
    ),
    '_base_/datasets/nih_pancreas_96x96x64.py': (
        '_base_/datasets/nih-pancreas-ct_96x96x64.py'
    ),
    '_base_/datasets/sthv1_authors_test_sampler.py': (
        '_base_/datasets/sthv1-rgb_authors-test-sampler.py'
    ),
    '_base_/datasets/sthv1_rawframes_16x1x1.py': (
        '_base_/datasets/sthv1-rgb_rawframes_u16.py'
    ),
    '_base_/datasets/sthv1_rawframes_8x1x1.py': (
        '_base_/datasets/sthv1-rgb_rawframes_u8.py'
    ),
    '_base_/datasets/sthv2_videos_8x1x1.py': (
        '_base_/datasets/sthv2-rgb_videos_u8.py'
    ),
    '_base_/datasets/synthetic_motion.py': (
        '_base_/datasets/synthetic-motion-rgb_videos_u8.py'
    ),
    '_base_/datasets/ucf101_videos_64x1x1.py': (
        '_base_/datasets/ucf101-rgb_videos_64x1x1.py'
    ),
    '_base_/densenet3d_64x64x64_ibsr.py': (
        '_base_/densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py'
    ),
    '_base_/schedules/adam_300k_iters_fibsem.py': (
        '_base_/schedules/adam_300k_fibsem.py'
    ),
    '_base_/unet3d_64x64x64_fibsem-affinities.py': (
        '_base_/unet3d_1xb1-64x64x64-300k_fibsem-em.py'
    ),
    'baselines/c2d_r50_8x1x1_sthv1.py': (
        'baselines/c2d_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'baselines/c3d_r50_8x1x1_sthv1.py': (
        'baselines/c3d_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'baselines/p3d_r50_8x1x1_sthv1.py': (
        'baselines/p3d_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes-123d-perf_r50_16x1x1_sthv1_authors-test.py': (
        'cakes/cakes-123d-perf-authors-test_r50_8xb12-u16-70e_sthv1-rgb.py'
    ),
    'cakes-123d-perf_r50_8x1x1_sthv1_authors-test.py': (
        'cakes/cakes-123d-perf-authors-test_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-123d-cost_r50_8x1x1_sthv1.py': (
        'cakes/cakes-123d-cost_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-123d-manual_r50_8x1x1_sthv1.py': (
        'cakes/cakes-123d-manual_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-123d-perf_r50_16x1x1_sthv1.py': (
        'cakes/cakes-123d-perf_r50_8xb12-u16-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-123d-perf_r50_8x1x1_sthv1.py': (
        'cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-12d-cost_r50_16x1x1_sthv1.py': (
        'cakes/cakes-12d-cost_r50_8xb12-u16-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-12d-cost_r50_8x1x1_sthv1.py': (
        'cakes/cakes-12d-cost_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-12d-manual_r50_8x1x1_sthv1.py': (
        'cakes/cakes-12d-manual_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-12d-perf_r50_16x1x1_sthv1.py': (
        'cakes/cakes-12d-perf_r50_8xb12-u16-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-12d-perf_r50_8x1x1_sthv1.py': (
        'cakes/cakes-12d-perf_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-23d-cost_r50_8x1x1_sthv1.py': (
        'cakes/cakes-23d-cost_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-23d-manual_r50_8x1x1_sthv1.py': (
        'cakes/cakes-23d-manual_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-23d-perf_r50_16x1x1_sthv1.py': (
        'cakes/cakes-23d-perf_r50_8xb12-u16-70e_sthv1-rgb.py'
    ),
    'cakes/cakes-23d-perf_r50_8x1x1_sthv1.py': (
        'cakes/cakes-23d-perf_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'cakes_r50_sthv1.py': (
        'cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'demo/c2d_r50-w16_8x1x1_synthetic-motion.py': (
        'demo/c2d_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py'
    ),
    'demo/cakes-123d-manual_unet3d-w16_32x32x32_mni-brain.py': (
        'demo/cakes-123d-manual_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py'
    ),
    'demo/cakes-12d-manual_r50-w16_8x1x1_synthetic-motion.py': (
        'demo/cakes-12d-manual_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py'
    ),
    'demo/cakes-12d-perf-search_r50-w16_8x1x1_synthetic-motion.py': (
        'demo/cakes-12d-perf-search_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py'
    ),
    'demo/cakes-2d-manual_unet3d-w16_32x32x32_mni-brain.py': (
        'demo/cakes-2d-manual_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py'
    ),
    'demo/cakes-planar-manual_unet3d-w16_32x32x32_mni-brain.py': (
        'demo/cakes-planar-manual_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py'
    ),
    'demo/conv3d_unet3d-w16_32x32x32_mni-brain.py': (
        'demo/c3d_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py'
    ),
    'demo/p2sc2_unet3d-w16_32x32x32_mni-brain.py': (
        'demo/p2sc2_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py'
    ),
    'pmscn/p1sc1_r34_64x1x1_ucf101.py': (
        'pmscn/p1sc1_r34_8xb8-64x1x1-50e_ucf101-rgb.py'
    ),
    'pmscn/p2sc1_r34_64x1x1_ucf101.py': (
        'pmscn/p2sc1_r34_8xb8-64x1x1-50e_ucf101-rgb.py'
    ),
    'pmscn/p2sc2_r34_64x1x1_ucf101.py': (
        'pmscn/p2sc2_r34_8xb8-64x1x1-50e_ucf101-rgb.py'
    ),
    'pmscn/p2sc3_r34_64x1x1_ucf101.py': (
        'pmscn/p2sc3_r34_8xb8-64x1x1-50e_ucf101-rgb.py'
    ),
    'pmscn/r3d_r34_64x1x1_ucf101.py': (
        'pmscn/c3d_r34_8xb8-64x1x1-50e_ucf101-rgb.py'
    ),
    'search/cakes-123d-cost-search_r50_8x1x1_sthv1.py': (
        'search/cakes-123d-cost-search_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'search/cakes-123d-perf-search_r50_8x1x1_sthv1.py': (
        'search/cakes-123d-perf-search_r50_8xb12-u8-140e_sthv1-rgb.py'
    ),
    'search/cakes-12d-cost-search_r50_8x1x1_sthv1.py': (
        'search/cakes-12d-cost-search_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'search/cakes-12d-perf-search_r50_8x1x1_sthv1.py': (
        'search/cakes-12d-perf-search_r50_8xb12-u8-140e_sthv1-rgb.py'
    ),
    'search/cakes-23d-cost-search_r50_8x1x1_sthv1.py': (
        'search/cakes-23d-cost-search_r50_8xb12-u8-70e_sthv1-rgb.py'
    ),
    'search/cakes-23d-perf-search_r50_8x1x1_sthv1.py': (
        'search/cakes-23d-perf-search_r50_8xb12-u8-140e_sthv1-rgb.py'
    ),
    'volumetric/archs/c2fnas-123d-cost_mni-brain.json': (
        'volumetric/archs/cakes-123d-cost_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.json'
    ),
    'volumetric/archs/c2fnas-123d-perf_mni-brain.json': (
        'volumetric/archs/cakes-123d-perf_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.json'
    ),
    'volumetric/archs/c2fnas-1d-perf_mni-brain.json': (
        'volumetric/archs/cakes-1d-perf_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.json'
    ),
    'volumetric/archs/c2fnas-2d-perf_mni-brain.json': (
        'volumetric/archs/cakes-2d-perf_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.json'
    ),
    'volumetric/c2fnas-2d_96x96x96_msd-pancreas.py': (
        'volumetric/c2d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/c2fnas-3d_96x96x64_nih-pancreas.py': (
        'volumetric/c3d_c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py'
    ),
    'volumetric/c2fnas-3d_96x96x96_msd-pancreas.py': (
        'volumetric/c3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/c2fnas-p3d_96x96x96_msd-pancreas.py': (
        'volumetric/p3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-123d-auto_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-123d-perf_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-123d-cost-search_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-123d-cost-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-123d-cost_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-123d-cost_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-123d-manual_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-123d-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-123d-perf-search_c2fnas_48x48x48_mni-brain.py': (
        'volumetric/cakes-123d-perf-search_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.py'
    ),
    'volumetric/cakes-123d-perf-search_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-123d-perf-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-123d-searched_c2fnas_96x96x64_nih-pancreas.py': (
        'volumetric/cakes-123d-perf-retrain_c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py'
    ),
    'volumetric/cakes-123d-searched_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-123d-perf-retrain_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-1d-auto_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-1d-perf_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-1d-manual_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-1d-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-2d-auto_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-2d-perf_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/cakes-2d-manual_c2fnas_96x96x96_msd-pancreas.py': (
        'volumetric/cakes-2d-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    ),
    'volumetric/conv3d_densenet3d_64x64x64_ibsr.py': (
        'volumetric/c3d_densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py'
    ),
    'volumetric/conv3d_unet3d_64x64x64_fibsem-affinities.py': (
        'volumetric/c3d_unet3d_1xb1-64x64x64-300k_fibsem-em.py'
    ),
    'volumetric/p1sc1_densenet3d_64x64x64_ibsr.py': (
        'volumetric/p1sc1_densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py'
    ),
    'volumetric/p1sc1_unet3d_64x64x64_fibsem-affinities.py': (
        'volumetric/p1sc1_unet3d_1xb1-64x64x64-300k_fibsem-em.py'
    ),
    'volumetric/p2sc1_unet3d_64x64x64_fibsem-affinities.py': (
        'volumetric/p2sc1_unet3d_1xb1-64x64x64-300k_fibsem-em.py'
    ),
    'volumetric/p2sc2_densenet3d_64x64x64_ibsr.py': (
        'volumetric/p2sc2_densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py'
    ),
    'volumetric/p2sc2_unet3d_64x64x64_fibsem-affinities.py': (
        'volumetric/p2sc2_unet3d_1xb1-64x64x64-300k_fibsem-em.py'
    ),
    'volumetric/p2sc3_densenet3d_64x64x64_ibsr.py': (
        'volumetric/p2sc3_densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py'
    ),
    'volumetric/p2sc3_unet3d_64x64x64_fibsem-affinities.py': (
        'volumetric/p2sc3_unet3d_1xb1-64x64x64-300k_fibsem-em.py'
    ),
}


class RenamedConfigWarning(DeprecationWarning):
    """A config was read by its old name (:data:`DEPRECATED_CONFIGS`)."""


def _renamed(relative: str) -> Optional[str]:
    """The new name of an old relative config path, else None."""
    return DEPRECATED_CONFIGS.get(osp.normpath(relative).replace(osp.sep, '/'))


def _warn(old: str, new: str) -> None:
    """Warn, once per resolution, that ``old`` is now ``new``.

    Python hides a DeprecationWarning raised outside ``__main__``, and
    the tools import the package with warnings hidden; this one is for the
    person who typed the old name, so it is always shown.
    """
    with warnings.catch_warnings():
        warnings.simplefilter('always', RenamedConfigWarning)
        warnings.warn(
            f'config {old} was renamed to {new}; the old name resolves '
            f'until the next release',
            RenamedConfigWarning,
            stacklevel=3,
        )


def resolve_config(config: str) -> str:
    """The file of a config given by path or as ``cakes_mm::family/x.py``.

    A ``cakes_mm::`` name is looked up in the package's configs. A name or
    path that does not exist but ends in an old config path
    (``configs/<old relative path>``, or the old relative path itself)
    resolves to the new file, with a :class:`DeprecationWarning` naming it.
    Anything else is returned as it is.

    Args:
        config (str): A config path or ``cakes_mm::`` name.

    Returns:
        str: The path to read.
    """
    config = str(config)
    prefix = f'{SCOPE}::'
    if config.startswith(prefix):
        relative = config[len(prefix) :]
        new = _renamed(relative)
        if new is not None:
            _warn(config, f'{prefix}{new}')
            relative = new
        return osp.join(CONFIGS_DIR, relative)
    if osp.exists(config):
        return config
    parts = osp.normpath(config).replace(osp.sep, '/').split('/')
    for start in range(len(parts)):
        new = _renamed('/'.join(parts[start:]))
        if new is None:
            continue
        path = '/'.join([*parts[:start], new])
        if not osp.exists(path):
            path = osp.join(CONFIGS_DIR, new)
        _warn(config, path)
        return path
    return config


def read_config(config: str) -> Config:
    """``Config.fromfile`` of :func:`resolve_config`'s file: old names and
    ``cakes_mm::`` names are read too.

    Args:
        config (str): A config path or ``cakes_mm::`` name.

    Returns:
        Config: The config.

    Raises:
        FileNotFoundError: When no config file is found.
    """
    path = resolve_config(config)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {config}')
    return Config.fromfile(path)
