"""cakes_mm.demo.runs: one demo model's run and the demos' tables."""

from types import SimpleNamespace

import torch.nn as nn

from cakes_mm.demo import runs
from cakes_mm.demo.runs import Column, Result, format_table


class FakeRunner:
    """A runner that trains instantly and tests to fixed metrics."""

    def __init__(self, metrics):
        self.model = nn.Conv3d(1, 2, 3, padding=1, bias=False)
        self.epoch = 3
        self.metrics = metrics
        self.hooks = []
        self.calls = []

    def register_hook(self, hook):
        self.hooks.append(hook)

    def train(self):
        self.calls.append('train')

    def test(self):
        self.calls.append('test')
        return self.metrics


def test_a_run_trains_tests_measures_and_says_so(monkeypatch):
    fake = FakeRunner({'dice/mean': 0.8125, 'dice/GM': 0.5})
    monkeypatch.setattr(runs, 'build_demo_runner', lambda cfg, name, e: fake)
    cfg = SimpleNamespace(filename='configs/x.py', work_dir='work/x')
    lines, hook = [], object()
    result = runs.train_and_test(
        '3D', cfg, (1, 1, 4, 4, 4), '1 epoch', lines.append, hooks=[hook]
    )
    assert fake.calls == ['train', 'test'] and fake.hooks == [hook]
    assert lines[0] == '[3D] training 1 epoch'
    assert lines[1].startswith('[3D] test mean Dice 81.2% (')
    assert result.name == '3D'
    assert result.scores == {'dice/mean': 81.25, 'dice/GM': 50.0}
    assert result.params_m == 54 / 1e6
    # 54 multiply-adds per voxel of one output channel pair, 64 voxels.
    assert abs(result.gflops - 54 * 64 / 1e9) < 1e-15
    assert (result.config, result.checkpoint) == (
        'configs/x.py',
        'work/x/epoch_3.pth',
    )


def test_a_table_aligns_its_columns():
    rows = [
        Result('a', {'acc/top1': 12.34}, 1.5, 0.25, 2.0, 'c', 'k'),
        Result('longer', {'acc/top1': 5.0}, 10.0, 1.0, 0.5, 'c', 'k'),
    ]
    columns = [
        Column('top-1', 7, 1, lambda row: row.scores['acc/top1']),
        runs.PARAMS,
        runs.gflops_column(8, 2),
        runs.MINUTES,
    ]
    assert format_table(rows, 8, columns, 'what it is').splitlines() == [
        'model     top-1  params (M)  GFLOPs  minutes',
        'a          12.3       1.500    0.25      2.0',
        'longer      5.0      10.000    1.00      0.5',
        'what it is',
    ]
