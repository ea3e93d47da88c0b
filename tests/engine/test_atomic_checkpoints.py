"""A run killed (SIGKILL) while it writes a checkpoint, ``last_checkpoint``
or ``arch_latest.json`` leaves only complete files behind, and ``--resume``
continues from the newest checkpoint it had recorded.

The subprocess tests pause the training process inside ``os.replace``, the
rename that publishes each atomically written file, and kill it there: every
byte of the new file is in its temp file, none has reached the final path.
A kill at any earlier moment of the write leaves the same state (only the
temp file is touched), and ``os.replace`` itself is atomic. Without
:class:`cakes_mm.engine.hooks.AtomicCheckpointHook` (which our base runtime
config names in place of mmengine's ``CheckpointHook``), mmengine writes
checkpoints and ``last_checkpoint`` in place, never calls ``os.replace``,
and the pause below would never be reached.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModel
from mmengine.runner import Runner, save_checkpoint
from tool_helpers import (
    TOOLS,
    python_path,
    run_tool,
    write_rawframe_dataset,
    write_tiny_config,
)

from cakes_mm import fileio
from cakes_mm.checkpoint.safe_load import load_local_checkpoint
from cakes_mm.engine.hooks import AtomicCheckpointHook
from cakes_mm.fileio import atomic_write
from cakes_mm.models.arch import resolve_arch

# A test module: before os.replace publishes a file named
# $PAUSE_BEFORE_REPLACING, note it in $PAUSE_MARKER and wait to be killed.
PAUSE = """
import os
import time

_replace = os.replace


def pausing_replace(src, dst, *args, **kwargs):
    if os.path.basename(dst) == os.environ.get('PAUSE_BEFORE_REPLACING'):
        marker = os.environ['PAUSE_MARKER']
        with open(marker + '.part', 'w') as part:
            part.write(str(src))
        _replace(marker + '.part', marker)  # whole once it exists
        time.sleep(600)
    return _replace(src, dst, *args, **kwargs)


os.replace = pausing_replace
"""

SEARCH = """
model = dict(
    type='CAKESRecognizer3D',
    backbone=dict(type='CAKESResNetSupernet', arch=None, mode='performance',
                  op_set=['1xkxk', 'kx1x1']))
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=1)]
train_cfg = dict(max_epochs=2)
randomness = dict(seed=3)
"""

WIDTHS = [8] * 3 + [16] * 4 + [32] * 6 + [64] * 3
BLOCKS = [
    f'layer{i}.{j}' for i, n in enumerate((3, 4, 6, 3), 1) for j in range(n)
]


# --------------------------------------------------------------------------
# The writers, in process
# --------------------------------------------------------------------------
def test_atomic_write_keeps_the_old_file_when_the_write_fails(
    tmp_path, monkeypatch
):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old')

    def disk_full(handle):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match='No space left'):
        atomic_write(str(target), b'new' * 1000)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_atomic_write_replaces_and_clears_leftovers(tmp_path):
    target = tmp_path / 'sub' / 'last_checkpoint'
    leftover = tmp_path / 'sub' / '.last_checkpoint.abc.tmp'
    other = tmp_path / 'sub' / '.epoch_1.pth.abc.tmp'
    leftover.parent.mkdir()
    leftover.write_text('from a killed write')
    other.write_text("another file's write")
    atomic_write(str(target), 'work/epoch_1.pth')
    assert target.read_text() == 'work/epoch_1.pth'
    assert sorted(os.listdir(target.parent)) == [
        '.epoch_1.pth.abc.tmp',
        'last_checkpoint',
    ]


def test_the_atomic_backend_writes_through_the_atomic_writer(
    tmp_path, monkeypatch
):
    published = []
    monkeypatch.setattr(
        fileio, 'atomic_write', lambda path, data: published.append(path)
    )
    save_checkpoint(
        {'state_dict': {}},
        str(tmp_path / 'epoch_1.pth'),
        backend_args=dict(backend='atomic_local'),
    )
    assert published == [str(tmp_path / 'epoch_1.pth')]
    save_checkpoint({'state_dict': {}}, str(tmp_path / 'epoch_2.pth'))
    assert published == [str(tmp_path / 'epoch_1.pth')]  # mmengine's own


# --------------------------------------------------------------------------
# Killed training runs
# --------------------------------------------------------------------------
def start_training(root, work_dir, pause_at, *args):
    """Start tools/train.py; it pauses before publishing ``pause_at``."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=python_path(root),
        PAUSE_BEFORE_REPLACING=pause_at,
        PAUSE_MARKER=str(root / 'paused'),
    )
    log = open(root / f'{pause_at}.log', 'w')
    return subprocess.Popen(
        [
            sys.executable,
            os.path.join(TOOLS, 'train.py'),
            str(root / 'search.py'),
            '--work-dir',
            work_dir,
            *args,
        ],
        cwd=str(root),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def kill_while_publishing(root, pause_at, *args, timeout=120):
    """Train until it is about to publish ``pause_at``; SIGKILL it then.

    Returns:
        str: The temp file the killed write had filled.
    """
    marker = root / 'paused'
    if marker.exists():
        marker.unlink()
    process = start_training(root, 'work', pause_at, *args)
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = (root / f'{pause_at}.log').read_text()
            pytest.fail(
                f'never paused before writing {pause_at}: {log[-3000:]}'
            )
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    return marker.read_text()


def recorded_checkpoint(work):
    """The checkpoint ``last_checkpoint`` names, loaded (weights_only)."""
    path = (work / 'last_checkpoint').read_text().strip()
    return path, load_local_checkpoint(path)


def assert_complete(work):
    """What a resume reads is complete and loadable."""
    path, checkpoint = recorded_checkpoint(work)
    assert set(checkpoint) >= {'state_dict', 'optimizer', 'meta'}
    assert os.path.basename(path) == f'epoch_{checkpoint["meta"]["epoch"]}.pth'
    arch = resolve_arch(str(work / 'arch_latest.json'), WIDTHS, BLOCKS)
    assert [sum(block.values()) for block in arch] == WIDTHS
    return path


@pytest.fixture(scope='module')
def search_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('kill')
    (root / 'pause_writes.py').write_text(PAUSE)
    ann = write_rawframe_dataset(str(root), [0, 1, 2, 0])
    base = write_tiny_config(
        str(root / 'base.py'),
        ann,
        str(root / 'frames'),
        imports=('cakes_mm', 'pause_writes'),
    )
    (root / 'search.py').write_text(f"_base_ = ['{base}']\n{SEARCH}")
    return root


@pytest.mark.slow
def test_killed_writes_leave_complete_files_and_resume(search_run):
    root = search_run
    work = root / 'work'

    # 1. Killed while publishing epoch_2.pth: epoch 1 is what is recorded.
    temp = kill_while_publishing(root, 'epoch_2.pth')
    assert os.path.basename(temp).startswith('.epoch_2.pth.')
    assert not (work / 'epoch_2.pth').exists()
    assert assert_complete(work).endswith('epoch_1.pth')
    latest_before = (work / 'arch_latest.json').read_text()

    # 2. Resumed, killed while publishing arch_latest.json at the end of
    # epoch 2: the previous arch file is still whole.
    kill_while_publishing(root, 'arch_latest.json', '--resume')
    assert (work / 'arch_latest.json').read_text() == latest_before
    assert_complete(work)

    # 3. Resumed, killed while publishing last_checkpoint: epoch_2.pth is
    # written, but last_checkpoint still names epoch 1, which loads.
    kill_while_publishing(root, 'last_checkpoint', '--resume')
    assert assert_complete(work).endswith('epoch_1.pth')
    assert (
        load_local_checkpoint(str(work / 'epoch_2.pth'))['meta']['epoch'] == 2
    )

    # 4. Resumed without a kill: continues from epoch 1 and finishes.
    result = run_tool(
        [
            'train.py',
            str(root / 'search.py'),
            '--work-dir',
            'work',
            '--resume',
        ],
        str(root),
        env=dict(PYTHONPATH=python_path(root)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        'Auto resumed from the latest checkpoint'
        in result.stdout + result.stderr
    )
    assert f'{work}/epoch_1.pth' in result.stdout + result.stderr
    path, checkpoint = recorded_checkpoint(work)
    assert path.endswith('epoch_2.pth') and checkpoint['meta']['epoch'] == 2
    assert json.loads((work / 'arch_final.json').read_text()) == json.loads(
        (work / 'arch_frozen.json').read_text()
    )
    # The killed checkpoint writes left no temp files behind.
    assert not [
        name
        for name in os.listdir(work)
        if name.startswith(('.epoch_', '.last_checkpoint'))
    ]


# --------------------------------------------------------------------------
# Every save that records last_checkpoint publishes it atomically
# --------------------------------------------------------------------------
class ToyModel(BaseModel):
    """One weight; its loss is the weight squared."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return dict(loss=(self.weight * inputs).pow(2).mean())
        return [dict(score=float(self.weight))] * len(inputs)


class ToyMetric(BaseMetric):
    """An accuracy that grows every evaluation, so each is the best."""

    evaluations = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        type(self).evaluations += 1
        return dict(acc=float(self.evaluations))


def test_every_recorded_save_publishes_last_checkpoint_atomically(
    tmp_path, monkeypatch
):
    published = []

    def recording(path, data):
        published.append((os.path.basename(path), data))
        atomic_write(path, data)

    monkeypatch.setattr(fileio, 'atomic_write', recording)
    monkeypatch.setattr(ToyMetric, 'evaluations', 0)
    loader = dict(
        dataset=[torch.ones(1)] * 2,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=1,
    )
    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=Evaluator([ToyMetric()]),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(
            checkpoint=dict(
                type='AtomicCheckpointHook', interval=1, save_best='acc'
            )
        ),
        default_scope='mmaction',
    )
    runner.train()
    records = [data for name, data in published if name == 'last_checkpoint']
    # each epoch records its checkpoint twice: when it is saved, and when
    # the validation's new best score is saved into it again (mmengine
    # re-saves the epoch's checkpoint then); both records are published
    assert [os.path.basename(r) for r in records] == [
        'epoch_1.pth',
        'epoch_1.pth',
        'epoch_2.pth',
        'epoch_2.pth',
    ]
    assert os.path.isfile(tmp_path / 'best_acc_epoch_2.pth')
    assert (tmp_path / 'last_checkpoint').read_text() == records[-1]
    assert os.path.isfile(records[-1])
    # no staging folder or temp file is left in the work dir
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]
    assert (
        AtomicCheckpointHook._save_checkpoint_with_step
        is CheckpointHook._save_checkpoint_with_step
    )
