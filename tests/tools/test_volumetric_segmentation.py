"""3D segmentation through tools/train.py and tools/test.py, end to end,
on tiny generated data with the tiny network put into the real volumetric
configs: training, a sliding-window test with --dump, a bitwise resume,
performance and cost searches, export and retraining of the found arch, and
the EM affinity pipeline scored by the variation of information.
"""

import json
import pickle

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from tool_helpers import python_path, read_arch_files, run_tool
from volumetric_helpers import make_case, write_msd_dataset, write_nifti

from cakes_mm.apis.export_arch import export_arch as export_searched_arch
from cakes_mm.checkpoint.safe_load import load_local_checkpoint
from cakes_mm.models import CAKESConv3d
from tools.segmentation_helpers import (
    NUM_C2FNAS_OP_CONVS,
    TINY_C2FNAS,
    TINY_UNET,
    searched_c2fnas,
    tiny_config,
    write_em_dataset,
)
from tools.test_resume_determinism import INTERRUPT, assert_same_weights

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def data_options(root):
    """--cfg-options that point every dataloader at ``root``."""
    return [
        '--cfg-options',
        *[f'{loader}.dataset.data_root={root}' for loader in LOADERS],
    ]


def tool(args, cwd, returncode=0):
    """Run a tool with this checkout and ``cwd`` importable."""
    result = run_tool(args, str(cwd), env=dict(PYTHONPATH=python_path(cwd)))
    assert result.returncode == returncode, result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def ct(tmp_path_factory):
    """Five 48^3 CT-like cases (fold 1 of 5: 4 train, 1 held out), and a
    trained tiny C2FNAS-3D config run for two epochs."""
    root = tmp_path_factory.mktemp('seg')
    data = root / 'data'
    write_msd_dataset(str(data), num_cases=5, size=48)
    config = tiny_config(
        str(root / 'c2fnas.py'),
        'c3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        TINY_C2FNAS,
    )
    log = tool(
        ['train.py', config, '--work-dir', 'work', *data_options(data)], root
    )
    return root, data, config, log


def test_training_learns_and_validates_by_dice(ct):
    root, _, _, log = ct
    assert 'loss_seg' in log and 'dice/mean' in log
    assert 'dice/organ' in log and 'dice/tumour' in log
    assert (root / 'work' / 'epoch_2.pth').exists()
    assert list((root / 'work').glob('best_dice_mean_epoch_*.pth'))


def test_sliding_window_test_dumps_whole_volume_predictions(ct):
    root, data, config, _ = ct
    log = tool(
        [
            'test.py',
            config,
            'work/epoch_2.pth',
            '--work-dir',
            'test',
            '--dump',
            'results.pkl',
            *data_options(data),
        ],
        root,
    )
    assert 'dice/mean' in log
    with open(root / 'results.pkl', 'rb') as file:
        results = pickle.load(file)
    assert len(results) == 1  # the held-out case, whole
    result = results[0]
    assert result['pred_seg'].dtype == torch.long
    assert (
        result['pred_seg'].shape == result['gt_seg'].shape == (1, 48, 48, 48)
    )
    assert result['image_path'].endswith('.nii.gz')
    assert result['ann_entry'].endswith('training[1]')


def test_a_stopped_run_resumes_bitwise(ct):
    root, data, config, _ = ct
    (root / 'interrupt.py').write_text(INTERRUPT)
    dies = root / 'dies.py'
    dies.write_text(
        f"_base_ = ['{config}']\n"
        "custom_imports = dict(imports=['cakes_mm', 'interrupt'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='DieAfterEpochs', epochs=[1])]\n"
    )
    tool(
        ['train.py', str(dies), '--work-dir', 'stopped', *data_options(data)],
        root,
        returncode=3,
    )
    assert not (root / 'stopped' / 'epoch_2.pth').exists()
    log = tool(
        [
            'train.py',
            str(dies),
            '--work-dir',
            'stopped',
            '--resume',
            *data_options(data),
        ],
        root,
    )
    assert 'Random generators restored' in log
    straight = load_local_checkpoint(str(root / 'work' / 'epoch_2.pth'))
    resumed = load_local_checkpoint(str(root / 'stopped' / 'epoch_2.pth'))
    assert_same_weights(straight['state_dict'], resumed['state_dict'])


SEARCH_HOOK = """
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=1)]
"""


@pytest.fixture(scope='module')
def searched(ct):
    """A performance-priority search, frozen after epoch 1 of 2."""
    root, data, _, _ = ct
    config = tiny_config(
        str(root / 'perf_search.py'),
        'cakes-123d-perf-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        searched_c2fnas('performance'),
        SEARCH_HOOK,
    )
    log = tool(
        ['train.py', config, '--work-dir', 'perf', *data_options(data)], root
    )
    return root, data, config, log


def test_performance_search_writes_archs_and_counts_axes(searched):
    root, _, _, log = searched
    work = root / 'perf'
    archs = read_arch_files(work)
    assert len(archs['arch_final.json']) == NUM_C2FNAS_OP_CONVS
    assert (
        archs['arch_final.json']
        == archs['arch_frozen.json']
        == archs['arch_epoch_2.json']
    )
    assert 'froze the architecture after epoch 1' in log
    assert 'op channels spanning D' in log and 'loss_alpha' not in log
    scalars = [
        json.loads(line)
        for line in next(work.glob('*/vis_data/scalars.json'))
        .read_text()
        .splitlines()
    ]
    axes = next(row for row in scalars if 'search/axis_D' in row)
    assert {'search/axis_H', 'search/axis_W'} <= set(axes)


def test_cost_search_adds_the_lasso(ct):
    root, data, _, _ = ct
    config = tiny_config(
        str(root / 'cost_search.py'),
        'cakes-123d-cost-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        searched_c2fnas('cost'),
        SEARCH_HOOK + 'train_cfg = dict(max_epochs=1)\n',
    )
    log = tool(
        ['train.py', config, '--work-dir', 'cost', *data_options(data)], root
    )
    assert 'loss_alpha' in log
    archs = read_arch_files(
        root / 'cost',
        ('arch_epoch_1.json', 'arch_frozen.json', 'arch_final.json'),
    )
    for arch in archs.values():
        assert len(arch) == NUM_C2FNAS_OP_CONVS


def export_arch(config, checkpoint, out):
    """Export a search checkpoint's arch as tools/search/export_arch.py
    does (:func:`cakes_mm.apis.export_arch.export_arch`), in this process;
    return the arch it wrote.

    Args:
        config (str): The search config.
        checkpoint (str | Path): A checkpoint of that search.
        out (Path): The JSON to write.

    Returns:
        list[dict]: The arch it wrote.
    """
    arch, _ = export_searched_arch(config, checkpoint, out)
    written = json.loads(out.read_text())
    assert written == arch
    return written


def assert_fixed_network(config, arch, checkpoint, overrides=None):
    """The fixed network of ``config`` has ``arch`` and ``checkpoint``
    (a retraining's) loads into it strictly.

    Args:
        config (str): The retraining config.
        arch (list[dict]): The arch it should be built with.
        checkpoint (str | Path): A checkpoint of the retraining.
        overrides (dict, optional): ``--cfg-options`` the retraining was
            run with. Defaults to None.
    """
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(overrides or {})
    model = MODELS.build(cfg.model)
    assert [
        module.choice
        for module in model.modules()
        if isinstance(module, CAKESConv3d)
    ] == arch
    state = load_local_checkpoint(str(checkpoint))
    model.load_state_dict(state['state_dict'], strict=True)


def test_exported_arch_is_retrained_from_scratch(searched):
    root, data, config, _ = searched
    exported = root / 'exported.json'
    arch = export_arch(config, root / 'perf' / 'epoch_2.pth', exported)
    assert arch == json.loads((root / 'perf' / 'arch_frozen.json').read_text())
    retrain = tiny_config(
        str(root / 'retrain.py'),
        'cakes-123d-perf-retrain_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        dict(TINY_C2FNAS, op=dict(type='cakes', arch=None)),
        'train_cfg = dict(max_epochs=1)\n',
    )
    options = data_options(data) + [f'model.network.op.arch={exported}']
    log = tool(['train.py', retrain, '--work-dir', 'retrain', *options], root)
    assert 'loss_seg' in log
    assert_fixed_network(
        retrain,
        arch,
        root / 'retrain' / 'epoch_1.pth',
        {'model.network.op.arch': str(exported)},
    )


EM_SCHEDULE = """
train_cfg = dict(max_iters=2, val_begin=100, val_interval=100)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
"""


def test_em_affinities_train_and_test_by_variation_of_information(tmp_path):
    data = tmp_path / 'em'
    write_em_dataset(str(data))
    config = tiny_config(
        str(tmp_path / 'em.py'),
        'p2sc2_unet3d_1xb1-64x64x64-300k_fibsem-em.py',
        TINY_UNET,
        EM_SCHEDULE,
    )
    log = tool(
        ['train.py', config, '--work-dir', 'work', *data_options(data)],
        tmp_path,
    )
    assert 'loss_affinity' in log
    log = tool(
        [
            'test.py',
            config,
            'work/iter_2.pth',
            '--work-dir',
            'test',
            '--dump',
            'em.pkl',
            *data_options(data),
        ],
        tmp_path,
    )
    assert 'vi/split' in log and 'vi/merge' in log and 'vi/total' in log
    with open(tmp_path / 'em.pkl', 'rb') as file:
        result = pickle.load(file)[0]
    assert (
        result['pred_seg'].shape == result['gt_seg'].shape == (1, 32, 32, 32)
    )
    assert result['gt_seg'].max() > 1  # instance ids, not classes


@pytest.mark.parametrize(
    'value, counts',
    [(np.nan, '1 NaN and 0 infinite'), (np.inf, '0 NaN and 1 infinite')],
    ids=['nan', 'inf'],
)
def test_a_non_finite_voxel_stops_training_naming_the_file(
    tmp_path, value, counts
):
    data = tmp_path / 'data'
    write_msd_dataset(str(data), num_cases=5)
    # Case 2 is a training case (fold 1, case 1, is held out).
    bad = data / 'imagesTr' / 'case_2.nii.gz'
    image = make_case(2)['image']
    image[3, 4, 5] = value
    write_nifti(str(bad), image)
    config = tiny_config(
        str(tmp_path / 'c2fnas.py'),
        'c3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        TINY_C2FNAS,
    )
    result = run_tool(
        ['train.py', config, '--work-dir', 'work', *data_options(data)],
        str(tmp_path),
    )
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f'error: {bad}: {counts} voxel(s) of {32**3}; a volume must be finite'
    ), last
    assert not (tmp_path / 'work' / 'epoch_1.pth').exists()
