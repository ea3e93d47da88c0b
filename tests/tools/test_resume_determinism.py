"""A run that dies after an epoch and is resumed with ``--resume`` ends
bitwise identical to one that never stopped: a plain tiny model, and a
performance-priority search resumed before and after its freeze epoch.

The runs go through tools/train.py on CPU with ``num_workers=0`` and
``randomness=dict(seed=..., deterministic=True)``. The comparison is
bitwise (``torch.equal``): the same CPU kernels run on the same inputs in
the same order, so any difference at all means the resumed run saw other
data, other random draws or another schedule.
"""

import json

import pytest
import torch
from tool_helpers import (
    python_path,
    run_tool,
    write_rawframe_dataset,
    write_tiny_config,
)

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

# A test module: a hook that ends the process right after the checkpoint of
# the given epochs, as a crash or a pre-emption would.
INTERRUPT = """
import os

from mmengine.hooks import Hook
from mmaction.registry import HOOKS


@HOOKS.register_module()
class DieAfterEpochs(Hook):
    priority = 'LOWEST'  # after the CheckpointHook

    def __init__(self, epochs):
        self.epochs = epochs

    def after_train_epoch(self, runner):
        if runner.epoch + 1 in self.epochs:
            os._exit(3)
"""

SEED = 'randomness = dict(seed=11, deterministic=True)\n'

SEARCH = """
model = dict(
    type='CAKESRecognizer3D',
    backbone=dict(type='CAKESResNetSupernet', arch=None, mode='performance',
                  op_set=['kxkxk', '1xkxk', 'kx1x1']))
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=2)]
"""


def write_config(path, base, text):
    """A config inheriting ``base`` with ``text`` added; returns the path."""
    path.write_text(f"_base_ = ['{base}']\n{text}")
    return str(path)


def with_interrupt(path, base, hooks, epochs):
    """``base`` with ``hooks`` plus one that dies after ``epochs``."""
    return write_config(
        path,
        base,
        'custom_hooks = [%s]\n'
        % ', '.join([*hooks, f"dict(type='DieAfterEpochs', epochs={epochs})"]),
    )


def train(root, config, work_dir, *args, returncode=0):
    """Run tools/train.py; check its exit status."""
    result = run_tool(
        ['train.py', config, '--work-dir', work_dir, *args],
        str(root),
        env=dict(PYTHONPATH=python_path(root)),
    )
    assert result.returncode == returncode, result.stderr[-3000:]
    return result


def checkpoint(path):
    """A checkpoint this suite wrote (so it may be fully unpickled)."""
    return torch.load(path, map_location='cpu', weights_only=False)


def assert_same_weights(first, second):
    """Bitwise equal state dicts."""
    assert first.keys() == second.keys()
    different = [
        key for key in first if not torch.equal(first[key], second[key])
    ]
    assert not different, (
        f'{len(different)} tensors differ, e.g. {different[:3]}'
    )


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A generated dataset, the interrupt module and a seeded base config."""
    root = tmp_path_factory.mktemp('resume')
    (root / 'interrupt.py').write_text(INTERRUPT)
    ann = write_rawframe_dataset(str(root), [0, 1, 2, 0, 1, 2])
    base = write_tiny_config(
        str(root / 'base.py'),
        ann,
        str(root / 'frames'),
        imports=('cakes_mm', 'interrupt'),
    )
    return root, base


def test_plain_model_resumes_bitwise(tiny):
    root, base = tiny
    plain = write_config(
        root / 'plain.py', base, SEED + 'train_cfg = dict(max_epochs=2)\n'
    )
    dies = with_interrupt(root / 'plain_dies.py', plain, [], [1])
    train(root, plain, 'straight')
    train(root, dies, 'stopped', returncode=3)
    assert (root / 'stopped' / 'epoch_1.pth').exists()
    assert not (root / 'stopped' / 'epoch_2.pth').exists()
    result = train(root, dies, 'stopped', '--resume')
    assert 'Random generators restored' in result.stdout + result.stderr
    straight = checkpoint(root / 'straight' / 'epoch_2.pth')
    resumed = checkpoint(root / 'stopped' / 'epoch_2.pth')
    assert_same_weights(straight['state_dict'], resumed['state_dict'])
    # The learning-rate schedule went on where it stopped, too.
    assert (
        straight['optimizer']['param_groups'][0]['lr']
        == resumed['optimizer']['param_groups'][0]['lr']
        == pytest.approx(1e-3)
    )


def test_search_resumes_bitwise_across_the_freeze(tiny):
    """Stopped after epoch 1 (still sampling) and after epoch 2 (just
    frozen), resumed twice: same frozen arch, same weights, same paths."""
    root, base = tiny
    search = write_config(
        root / 'search.py',
        base,
        SEED + 'train_cfg = dict(max_epochs=3)\n' + SEARCH,
    )
    dies = with_interrupt(
        root / 'search_dies.py',
        search,
        ["dict(type='CAKESSearchHook', interval=1, freeze_at=2)"],
        [1, 2],
    )
    train(root, search, 'straight_search')
    train(root, dies, 'stopped_search', returncode=3)
    train(root, dies, 'stopped_search', '--resume', returncode=3)
    result = train(root, dies, 'stopped_search', '--resume')
    assert 'resumed on a frozen choice' in result.stdout + result.stderr

    straight, stopped = root / 'straight_search', root / 'stopped_search'
    for name in ('arch_frozen.json', 'arch_final.json', 'arch_epoch_3.json'):
        assert json.loads((straight / name).read_text()) == json.loads(
            (stopped / name).read_text()
        ), name
    for epoch in (2, 3):
        first = checkpoint(straight / f'epoch_{epoch}.pth')
        second = checkpoint(stopped / f'epoch_{epoch}.pth')
        assert_same_weights(first['state_dict'], second['state_dict'])
        assert torch.equal(
            first['cakes_search']['path_generator'],
            second['cakes_search']['path_generator'],
        )
    frozen = checkpoint(stopped / 'epoch_3.pth')['state_dict']
    assert all(frozen[key] for key in frozen if key.endswith('.frozen'))
