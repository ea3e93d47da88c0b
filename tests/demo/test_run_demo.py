"""tools/demo/run_demo.py, cakes_mm.demo.video_demo and the demo
configs."""

import argparse
import json
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from tool_helpers import REPO, run_tool

from cakes_mm.demo import video_demo
from cakes_mm.demo.progress import DemoProgressHook
from cakes_mm.demo.runs import Result
from cakes_mm.demo.synthetic import DEMO_CLASS_NAMES, generate_dataset

CONFIGS_DIR = osp.join(REPO, 'configs', 'demo')
CONFIGS = {
    key: osp.join(CONFIGS_DIR, config)
    for key, _, config, _ in video_demo.DEMO_MODELS
}
ROW = re.compile(
    r'^(C2D|CAKES 1,2D (?:manual|search|searched))\s+'
    r'([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$',
    re.MULTILINE,
)


@pytest.mark.slow
def test_quick_demo_runs_end_to_end(tmp_path):
    work_dir = tmp_path / 'demo'
    result = run_tool(
        ['demo/run_demo.py', '--quick', '--work-dir', str(work_dir)],
        cwd=str(tmp_path),
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(
        r'model\s+params \(M\)\s+GFLOPs\s+top-1 \(%\)', result.stdout
    )
    rows = {
        name: [float(value) for value in values]
        for name, *values in ROW.findall(result.stdout)
    }
    assert sorted(rows) == [
        'C2D',
        'CAKES 1,2D manual',
        'CAKES 1,2D search',
        'CAKES 1,2D searched',
    ]
    c2d, cakes = rows['C2D'], rows['CAKES 1,2D manual']
    # The retrained net is the arch the search froze and exported.
    assert rows['CAKES 1,2D searched'][:2] == rows['CAKES 1,2D search'][:2]
    exported = json.loads(
        (work_dir / 'cakes12d_search' / 'arch_final.json').read_text()
    )
    assert exported == json.loads(
        (work_dir / 'cakes12d_search' / 'arch_frozen.json').read_text()
    )
    # 1D temporal sub-kernels are cheaper than the 2D ones they replace.
    assert 0 < cakes[0] < c2d[0] and 0 < cakes[1] < c2d[1]
    assert all(0 <= row[2] <= 100 for row in rows.values())
    assert '[C2D] epoch 1/1' in result.stdout
    # mmaction2's loaders log mmengine's FileClient deprecations; the demo
    # console shows no mmengine warning at all.
    assert '- mmengine - WARNING -' not in result.stdout + result.stderr
    for key in CONFIGS:
        assert osp.isfile(work_dir / key / 'epoch_1.pth')
    assert (
        work_dir / 'data' / 'label_map.txt'
    ).read_text().splitlines() == list(DEMO_CLASS_NAMES)
    assert_last_line_runs(result.stdout, tmp_path)


def assert_last_line_runs(stdout, cwd):
    """The recognize.py command the demo ends with runs as printed, on the
    searched network's checkpoint, and prints a top-5 of the class names."""
    command = shlex.split(stdout.strip().splitlines()[-1])
    assert command[0] == 'python'
    assert (
        'model.backbone.op.arch='
        + osp.join(str(cwd), 'demo', 'cakes12d_search', 'arch_final.json')
        in command
    )
    result = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert [line.split('. ', 1)[0] for line in lines] == [
        '1',
        '2',
        '3',
        '4',
        '5',
    ]
    names = {line.split('. ', 1)[1].rsplit('  ', 1)[0] for line in lines}
    assert len(names) == 5 and names <= set(DEMO_CLASS_NAMES)


def pooled_features(key, clip):
    """The demo model's backbone features, averaged as its head does."""
    model = MODELS.build(Config.fromfile(CONFIGS[key]).model)
    model.eval()
    with torch.no_grad():
        return model.backbone(clip).mean(dim=(2, 3, 4))


def test_c2d_is_blind_to_time_order_and_cakes_is_not():
    clip = torch.randn(2, 3, 8, 32, 32)
    for key, blind in (('c2d', True), ('cakes12d', False)):
        torch.manual_seed(0)
        forward = pooled_features(key, clip)
        torch.manual_seed(0)
        backward = pooled_features(key, clip.flip(2))
        change = (forward - backward).abs().max() / forward.abs().max()
        assert (change < 1e-5) == blind, (key, change)


@pytest.mark.parametrize(
    'split,views', [('train', 1), ('val', 1), ('test', 2)]
)
def test_demo_config_reads_generated_videos(tmp_path, split, views):
    data_root = str(tmp_path / 'data')
    generate_dataset(data_root, {split: 1})
    args = argparse.Namespace(
        work_dir=str(tmp_path), seed=0, verbose=False, quick=False
    )
    cfg = video_demo.demo_config(
        video_demo.DEMO_MODELS[0][2],
        CONFIGS_DIR,
        str(tmp_path),
        data_root,
        args,
    )
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    assert len(dataset) == len(DEMO_CLASS_NAMES)
    sample = dataset[len(DEMO_CLASS_NAMES) - 1]
    assert tuple(sample['inputs'].shape) == (views, 3, 8, 32, 32)
    # The last class (shrinking) keeps its label when training flips.
    assert sample['data_samples'].gt_label.item() == len(DEMO_CLASS_NAMES) - 1


class FakeRunner:
    """What DemoProgressHook reads from a runner."""

    epoch, max_epochs = 2, 5

    class optim_wrapper:  # noqa: N801
        @staticmethod
        def get_lr():
            return dict(lr=[0.0125])


def test_progress_hook_prints_epoch_loss_and_val_accuracy():
    lines = []
    hook = DemoProgressHook('C2D', lines.append)
    hook.before_train(FakeRunner)
    for loss in (2.0, 4.0):
        hook.after_train_iter(
            FakeRunner,
            0,
            outputs=dict(loss=torch.tensor(loss, requires_grad=True)),
        )
    hook.after_train_epoch(FakeRunner)
    hook.after_val_epoch(FakeRunner, {'acc/top1': 0.75})
    assert re.fullmatch(
        r'\[C2D\] epoch 3/5  loss 3\.000  lr 0\.0125  \d+s', lines[0]
    )
    assert lines[1] == '[C2D] val top-1 75.0%'
    hook.after_train_iter(FakeRunner, 0, outputs=dict(loss=torch.tensor(1.0)))
    hook.after_train_epoch(FakeRunner)  # the mean starts again each epoch
    assert 'loss 1.000' in lines[2]


def test_table_has_a_row_per_model_and_says_what_it_measures():
    results = [
        Result(name, {'acc/top1': 62.5}, 1.25, 0.0625, 3.0, 'c.py', 'e.pth')
        for _, name, _, _ in video_demo.DEMO_MODELS
    ]
    table = video_demo.video_table(results, 12, 2)
    rows = ROW.findall(table)
    assert [row[0] for row in rows] == [
        name for _, name, _, _ in video_demo.DEMO_MODELS
    ]
    assert rows[0][1:] == ('1.250', '0.0625', '62.5', '3.0')
    assert table.splitlines()[-1] == (
        'GFLOPs: multiply-adds of one 8x32x32 clip; top-1 on 12 test '
        'videos, 2 clips each. A frame-by-frame model cannot beat 50%.'
    )


def test_quick_config_freezes_the_search_after_one_epoch(tmp_path):
    args = argparse.Namespace(
        work_dir=str(tmp_path), seed=3, verbose=True, quick=True
    )
    key, _, config, arch_from = video_demo.DEMO_MODELS[-1]
    cfg = video_demo.demo_config(
        config, CONFIGS_DIR, str(tmp_path / key), 'DATA', args, arch_from
    )
    assert cfg.model.backbone.op.arch == str(
        tmp_path / 'cakes12d_search' / 'arch_final.json'
    )
    assert cfg.train_cfg.max_epochs == 1
    assert cfg.randomness.seed == 3 and cfg.log_level == 'INFO'
    assert cfg.test_dataloader.dataset.ann_file == osp.join('DATA', 'test.txt')
    assert cfg.test_dataloader.num_workers == 0
    search = video_demo.DEMO_MODELS[2][2]
    cfg = video_demo.demo_config(search, CONFIGS_DIR, 'w', 'DATA', args)
    assert [
        hook.freeze_at for hook in cfg.custom_hooks if hook.get('freeze_at')
    ] == [1]


def test_the_demo_prints_the_table_and_a_command_to_try(
    tmp_path, monkeypatch, capsys
):
    """The orchestration, with each model's training replaced by a row."""
    trained = []

    def fake_train_and_test(name, cfg, input_shape, plan, echo):
        trained.append((name, cfg.model.backbone.op.get('arch'), plan))
        return Result(
            name,
            {'acc/top1': 50.0},
            1.0,
            0.5,
            0.0,
            cfg.filename,
            osp.join(cfg.work_dir, 'epoch_1.pth'),
        )

    monkeypatch.setattr(video_demo, 'train_and_test', fake_train_and_test)
    work_dir = str(tmp_path / 'demo')
    args = argparse.Namespace(
        work_dir=work_dir, seed=0, verbose=False, quick=True
    )
    recognize = osp.join(REPO, 'tools', 'demo', 'recognize.py')
    results = video_demo.run_video_demo(args, CONFIGS_DIR, recognize, print)
    assert list(results) == [key for key, *_ in video_demo.DEMO_MODELS]
    assert trained[0][2] == (
        '1 epochs from configs/demo/c2d_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py'
    )
    arch = osp.join(work_dir, 'cakes12d_search', 'arch_final.json')
    assert trained[-1][1] == arch
    out = capsys.readouterr().out
    assert len(ROW.findall(out)) == len(video_demo.DEMO_MODELS)
    assert '2 clips each' in out
    command = shlex.split(out.strip().splitlines()[-1])
    assert command[1] == osp.relpath(recognize)
    assert command[3] == osp.relpath(CONFIGS['cakes12d_searched'])
    assert command[4] == osp.join(work_dir, 'cakes12d_searched', 'epoch_1.pth')
    assert command[-1] == 'model.backbone.op.arch=' + arch
