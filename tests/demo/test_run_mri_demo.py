"""tools/demo/run_mri_demo.py, its configs and cakes_mm.demo.mri_*."""

import json
import os.path as osp
import re
import struct

import nibabel as nib
import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from tool_helpers import REPO, run_tool

from cakes_mm.analysis import default_input_shape, model_complexity
from cakes_mm.demo import mri_demo, mri_figure
from cakes_mm.demo.progress import DemoProgressHook
from cakes_mm.demo.runs import Result

CONFIGS = osp.join(REPO, 'configs', 'demo')
NAMES = [name for _, name, _ in mri_demo.MRI_MODELS]
NUMBER = r'\s+(\d+\.\d+)'
ROW = re.compile(
    r'^(' + '|'.join(map(re.escape, NAMES)) + r')' + NUMBER * 7 + r'$',
    re.MULTILINE,
)
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def demo_cfg(config):
    return Config.fromfile(osp.join(CONFIGS, config))


@pytest.mark.slow
def test_quick_mri_demo_runs_end_to_end(tmp_path):
    work_dir = tmp_path / 'mri'
    result = run_tool(
        [
            'demo/run_mri_demo.py',
            '--quick',
            '--work-dir',
            str(work_dir),
            '--seed',
            '3',
        ],
        cwd=str(tmp_path),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(
        r'^model\s+CSF\s+GM\s+WM\s+mean Dice\s+params \(M\)'
        r'\s+GFLOPs\s+minutes$',
        result.stdout,
        re.MULTILINE,
    )
    rows = {
        name: [float(value) for value in values]
        for name, *values in ROW.findall(result.stdout)
    }
    assert list(rows) == NAMES
    for csf, grey, white, mean, params, gflops, minutes in rows.values():
        assert all(0 <= dice <= 100 for dice in (csf, grey, white, mean))
        assert abs(mean - (csf + grey + white) / 3) <= 0.1
        assert params > 0 and gflops > 0 and minutes >= 0
    # The planar and the three-plane 2D rows cost the same; 3D the most.
    assert rows['planar 2D'][4:6] == rows['CAKES 2D'][4:6]
    assert max(rows, key=lambda name: rows[name][4]) == '3D'
    assert 'seed 3' in result.stdout
    assert '[3D] epoch 1/1' in result.stdout
    assert '[P2SC2] val mean Dice' in result.stdout
    for key, _, _ in mri_demo.MRI_MODELS:
        assert osp.isfile(work_dir / key / 'epoch_1.pth')
    png = (work_dir / 'mri_demo.png').read_bytes()
    assert png[:8] == PNG_SIGNATURE
    width, height = struct.unpack('>II', png[16:24])  # the IHDR chunk
    assert width > height > 300
    assert_front_back_split(work_dir / 'data')


def assert_front_back_split(data_root):
    """Training lies in front of the test part, both spanning the whole
    left-right and up-down extent of the brain's box."""
    with open(data_root / 'dataset.json') as file:
        index = json.load(file)
    extents = {}
    for part in ('training', 'test'):
        image = nib.load(data_root / index[part][0]['image'])
        corners = np.array(
            [
                image.affine @ [*corner, 1]
                for corner in ((0, 0, 0), np.array(image.shape) - 1)
            ]
        )[:, :3]
        extents[part] = corners
    train, test = extents['training'], extents['test']
    assert test[1, 1] < train[0, 1]  # y: the test part is posterior
    np.testing.assert_array_equal(train[:, [0, 2]], test[:, [0, 2]])
    assert (data_root / 'ATTRIBUTION.rst').is_file()


def test_demo_configs_differ_only_in_the_op():
    def without_op(config):
        cfg = demo_cfg(config)
        op = cfg.model.network.pop('op')
        return cfg.to_dict(), op

    base, base_op = without_op(mri_demo.MRI_MODELS[1][2])
    ops = []
    for _, _, config in mri_demo.MRI_MODELS:
        others, op = without_op(config)
        assert others == base, config
        ops.append(op)
    assert base_op == dict(type='conv3d')
    assert ops[0] == dict(type='cakes', op_set=['kxkx1'])
    assert ops[2]['op_set'] == ['1xkxk', 'kxkx1', 'kx1xk']
    assert len(ops[3]['op_set']) == 7
    assert ops[4] == dict(type='pmscn', m=2, n=2)


def test_planar_and_three_plane_2d_cost_the_same():
    costs = {}
    for key, _, config in mri_demo.MRI_MODELS:
        cfg = demo_cfg(config)
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
        costs[key] = model_complexity(model, default_input_shape(cfg))
    assert costs['planar2d'] == costs['cakes2d']
    assert costs['planar2d'].flops * 3 == pytest.approx(
        costs['conv3d'].flops, rel=0.02
    )


def test_quick_config_is_a_short_run_on_the_written_data(tmp_path):
    args = mri_demo.argparse.Namespace(seed=5, verbose=False, quick=True)
    cfg = mri_demo.demo_config(
        mri_demo.MRI_MODELS[0][2],
        CONFIGS,
        str(tmp_path / 'work'),
        'DATA',
        args,
    )
    assert cfg.train_cfg.max_epochs == 1
    loader = cfg.train_dataloader
    assert loader.dataset.times == loader.batch_size * mri_demo.QUICK_ITERS
    assert loader.num_workers == 0 and not loader.persistent_workers
    assert loader.dataset.dataset.data_root == 'DATA'
    assert cfg.val_dataloader.dataset.data_root == 'DATA'
    assert cfg.test_dataloader.dataset.split == 'test'
    assert cfg.randomness.seed == 5 and cfg.log_level == 'WARNING'


def test_view_slice_puts_a_voxel_where_the_view_shows_it():
    volume = np.zeros((4, 5, 6))
    volume[1, 2, 3] = 1
    expected = {
        'axial': ((5, 4), (2, 1)),
        'coronal': ((6, 4), (3, 1)),
        'sagittal': ((6, 5), (3, 2)),
    }
    for view, index in (('axial', 3), ('coronal', 2), ('sagittal', 1)):
        plane = mri_figure.view_slice(volume, view, index)
        shape, (row, column) = expected[view]
        assert plane.shape == shape
        assert plane[row, column] == 1 and plane.sum() == 1


def test_richest_slices_have_the_most_grey_matter():
    truth = np.zeros((6, 7, 8), np.uint8)
    truth[4, 1:5, 2] = 2  # a line of GM along y
    truth[0, 0, 0] = 3
    assert mri_figure.richest_slices(truth) == dict(
        axial=2, coronal=1, sagittal=4
    )


def test_figure_is_a_png_of_the_richest_slices(tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, (20, 12, 16)).astype(np.uint8)
    image = rng.random(truth.shape).astype(np.float32)
    path = tmp_path / 'sub' / 'slices.png'
    slices = mri_figure.save_mri_figure(
        str(path),
        image,
        truth,
        [('a\nmean Dice 1.0%', truth)] * 2,
        mri_demo.CLASSES,
    )
    assert slices == mri_figure.richest_slices(truth)
    png = path.read_bytes()
    assert png[:8] == PNG_SIGNATURE
    (width,) = struct.unpack('>I', png[16:20])  # the IHDR chunk
    assert width == 4 * 190  # four columns of 1.9 inches at 100 dpi


def test_table_has_a_row_per_model_and_says_what_it_measures():
    results = [
        Result(
            name,
            {
                'dice/CSF': 50.0,
                'dice/GM': 60.0,
                'dice/WM': 70.0,
                'dice/mean': 60.0,
            },
            0.25,
            1.5,
            2.0,
            'c.py',
            'e.pth',
        )
        for name in NAMES
    ]
    table = mri_demo.mri_table(results, (32, 32, 32), (79, 39, 82), 7)
    rows = ROW.findall(table)
    assert [row[0] for row in rows] == NAMES
    assert rows[0][1:] == (
        '50.0',
        '60.0',
        '70.0',
        '60.0',
        '0.250',
        '1.500',
        '2.0',
    )
    assert table.splitlines()[-1].endswith(
        '(79x39x82 voxels at 2 mm) by a 32x32x32 sliding window; GFLOPs: '
        'multiply-adds of one 32x32x32 window; seed 7.'
    )


def test_progress_hook_prints_validation_dice():
    lines = []
    DemoProgressHook('3D', lines.append).after_val_epoch(
        None, {'dice/mean': 0.813, 'dice/GM': 0.5}
    )
    assert lines == ['[3D] val mean Dice 81.3%']
