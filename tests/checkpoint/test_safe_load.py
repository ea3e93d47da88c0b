"""Checkpoints under torch's weights_only=True (cakes_mm.checkpoint.safe_load
and the allow-list cakes_mm.environment applies)."""

import os.path as osp
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from cakes_mm.checkpoint.safe_load import (
    UnsafeCheckpointError,
    history_buffer_getattr,
    load_local_checkpoint,
)


class ToyModel(BaseModel):
    """A linear classifier, enough for mmengine to write a checkpoint."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, inputs, labels, mode='tensor'):
        scores = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(scores, labels))
        return scores


class ToyData(torch.utils.data.Dataset):
    """Eight random samples."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.randn(4), labels=torch.tensor(index % 2))


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory):
    """A checkpoint written by mmengine's Runner after one epoch."""
    work_dir = str(tmp_path_factory.mktemp('runner'))
    runner = Runner(
        model=ToyModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=ToyData(),
            batch_size=4,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        default_scope='mmaction',
    )
    runner.train()
    return osp.join(work_dir, 'epoch_1.pth')


class RunsCode:
    """Unpickles by running ``exec``, which would write ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").write("pwned")',))


class ReachesPastStatistics:
    """Unpickles as ``getattr(HistoryBuffer, 'update')``."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, 'update'))


def test_allow_list_covers_mmengine_checkpoints(mmengine_checkpoint):
    assert (
        torch.serialization.get_unsafe_globals_in_checkpoint(
            mmengine_checkpoint
        )
        == []
    )


def test_mmengine_checkpoint_loads_with_weights_only(mmengine_checkpoint):
    checkpoint = _load_checkpoint(mmengine_checkpoint)
    assert {
        'meta',
        'state_dict',
        'message_hub',
        'optimizer',
        'param_schedulers',
    } <= set(checkpoint)
    loss = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.statistics('mean') == pytest.approx(
        loss.data[0].mean(), rel=1e-6
    )
    assert checkpoint['state_dict']['linear.weight'].shape == (2, 4)


def test_code_in_checkpoint_is_refused_without_running(tmp_path):
    marker = tmp_path / 'pwned.txt'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': RunsCode(str(marker))}, path)
    with pytest.raises(pickle.UnpicklingError):  # mmengine's own loader
        _load_checkpoint(path)
    with pytest.raises(UnsafeCheckpointError) as info:  # our tools' loader
        load_local_checkpoint(path)
    assert not marker.exists()
    message = str(info.value)
    assert path in message and 'exec' in message
    assert 'could run code' in message and 'weights_only=True' in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_legacy_pickle_with_code_is_refused(tmp_path):
    marker = tmp_path / 'pwned.txt'
    path = tmp_path / 'evil_legacy.pth'
    path.write_bytes(pickle.dumps(RunsCode(str(marker)), protocol=2))
    with pytest.raises(UnsafeCheckpointError, match='it references exec'):
        load_local_checkpoint(str(path))
    assert not marker.exists()


def test_plain_torch_load_still_refuses_code(tmp_path):
    marker = tmp_path / 'pwned.txt'
    path = str(tmp_path / 'evil.pth')
    torch.save(RunsCode(str(marker)), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert not marker.exists()


def test_getattr_is_narrowed_to_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'sneaky.pth')
    torch.save({'meta': ReachesPastStatistics()}, path)
    with pytest.raises(UnsafeCheckpointError, match='not allowed'):
        load_local_checkpoint(path)
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_getattr(dict, 'mean')


def test_missing_checkpoint_is_named(tmp_path):
    path = str(tmp_path / 'absent.pth')
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        load_local_checkpoint(path)
