"""Checkpoints from elsewhere: the layouts the tools accept, and a clear
stop, naming the key and both shapes, for one that does not fit the model.

Accepted by ``tools/test.py``, ``load_from`` and ``--resume`` (by
:class:`cakes_mm.engine.CheckedRunner`, which our base runtime config
names): weights under
``state_dict`` (mmengine, mmaction2, mmpretrain), under ``model``, or a
bare state dict, each with or without DDP's ``module.`` prefix. 2D ImageNet
checkpoints for inflation (torchvision, mmpretrain and mmaction2 key
layouts) are covered by the inflation tests.
"""

import os.path as osp
import pickle

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from tool_helpers import run_tool, write_rawframe_dataset, write_tiny_config

from cakes_mm.checkpoint.fit_check import (
    CheckpointMismatchError,
    checkpoint_state_dict,
    describe_mismatch,
)
from cakes_mm.checkpoint.safe_load import UnsafeCheckpointError
from cakes_mm.engine import CheckedRunner

WEIGHT = torch.zeros(4, 2, 3)


# --------------------------------------------------------------------------
# Layouts and mismatch descriptions
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    'checkpoint',
    [
        {'state_dict': {'a.weight': WEIGHT}, 'meta': {'epoch': 3}},
        {'model': {'a.weight': WEIGHT}, 'epoch': 3},
        {'a.weight': WEIGHT},
        {'state_dict': {'module.a.weight': WEIGHT}},
        {'module.a.weight': WEIGHT},
    ],
    ids=['state_dict', 'model', 'bare', 'ddp state_dict', 'ddp bare'],
)
def test_every_layout_gives_the_same_state_dict(checkpoint):
    assert checkpoint_state_dict(checkpoint) == {'a.weight': WEIGHT}


def test_the_first_mismatch_names_the_key_and_both_shapes():
    model = {
        'a.weight': torch.zeros(8, 3),
        'b.weight': torch.zeros(2),
        'c.weight': torch.zeros(5),
    }
    checkpoint = {
        'a.weight': torch.zeros(8, 3),
        'b.weight': torch.zeros(3),
        'z.weight': torch.zeros(1),
    }
    assert describe_mismatch(model, checkpoint) == (
        'b.weight has shape (3,) in the checkpoint but (2,) in the model '
        '(keys that do not fit: 1 missing, 1 unexpected, 1 of another shape)'
    )
    del checkpoint['b.weight']
    assert describe_mismatch(model, checkpoint).startswith(
        'b.weight is missing from the checkpoint (model shape (2,))'
    )
    assert describe_mismatch(
        model, {**model, 'z.weight': torch.zeros(1)}
    ).startswith(
        'z.weight (shape (1,)) is in the checkpoint but not in the model'
    )
    assert describe_mismatch(model, dict(model)) is None


def test_tolerated_prefixes_are_not_compared():
    model = {'backbone.w': torch.zeros(2), 'cls_head.fc.w': torch.zeros(5)}
    checkpoint = {
        'backbone.w': torch.zeros(2),
        'cls_head.fc.w': torch.zeros(9),
        'cls_head.old': WEIGHT,
    }
    assert describe_mismatch(model, checkpoint, ('cls_head.',)) is None
    assert 'cls_head.fc.w has shape (9,)' in describe_mismatch(
        model, checkpoint
    )


# --------------------------------------------------------------------------
# CheckedRunner.load_checkpoint
# --------------------------------------------------------------------------
def tiny_model_cfg(tmp_path, **backbone):
    """The tiny recognizer's model config, with backbone overrides."""
    config = write_tiny_config(str(tmp_path / 'tiny.py'), 'ann.txt', 'frames')
    cfg = Config.fromfile(config).model
    cfg.backbone.update(backbone)
    return cfg


def build_model(cfg):
    init_default_scope('mmaction')
    return MODELS.build(cfg)


def runner_for(cfg, tmp_path, name, runner_type=Runner):
    return runner_type(
        model=build_model(cfg),
        work_dir=str(tmp_path / name),
        experiment_name=name,
    )


@pytest.fixture
def checked(tmp_path):
    """A function (model cfg, name, tolerated) -> a CheckedRunner whose
    ``load_checkpoint`` checks."""

    def make(cfg, name, tolerated=()):
        runner = runner_for(cfg, tmp_path, name, CheckedRunner)
        runner.tolerated_keys = tolerated
        return runner

    return make


@pytest.mark.parametrize('layout', ['state_dict', 'model', 'bare ddp'])
def test_each_layout_loads_every_weight(tmp_path, checked, layout):
    cfg = tiny_model_cfg(tmp_path)
    source = build_model(cfg).state_dict()
    weights = {
        'state_dict': {'state_dict': source},
        'model': {'model': source, 'epoch': 7},
        'bare ddp': {f'module.{k}': v for k, v in source.items()},
    }
    path = str(tmp_path / 'foreign.pth')
    torch.save(weights[layout], path)
    runner = checked(cfg, f'layout_{layout.replace(" ", "_")}')
    runner.load_checkpoint(path)
    loaded = runner.model.state_dict()
    assert all(
        torch.equal(loaded[key], value) for key, value in source.items()
    )


def test_another_op_arch_names_key_and_shapes(tmp_path, checked):
    path = str(tmp_path / 'other_ops.pth')
    other = build_model(tiny_model_cfg(tmp_path, op_set=['kxkxk', 'kx1x1']))
    torch.save({'state_dict': other.state_dict()}, path)
    runner = checked(tiny_model_cfg(tmp_path), 'op_arch')
    with pytest.raises(CheckpointMismatchError) as info:
        runner.load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f'{path} does not fit the model: backbone.')
    assert 'is missing from the checkpoint (model shape (' in message
    assert 'another depth, arch or op_set' in message


def test_another_depth_names_the_first_extra_key(tmp_path, checked):
    path = str(tmp_path / 'r101.pth')
    deeper = build_model(tiny_model_cfg(tmp_path, depth=101))
    torch.save(deeper.state_dict(), path)
    runner = checked(tiny_model_cfg(tmp_path), 'depth')
    with pytest.raises(
        CheckpointMismatchError,
        match=r'backbone\.layer3\.6\.conv1\.weight \(shape '
        r'\(32, 128, 1, 1, 1\)\) is in the checkpoint but not '
        r'in the model \(keys that do not fit: 0 missing, '
        r'\d+ unexpected, 0 of another shape\)',
    ):
        runner.load_checkpoint(path)


def test_fine_tuning_to_other_classes_is_tolerated(tmp_path, checked):
    path = str(tmp_path / 'ten_classes.pth')
    ten = tiny_model_cfg(tmp_path)
    ten.cls_head.num_classes = 10
    source = build_model(ten).state_dict()
    torch.save({'state_dict': source}, path)
    runner = checked(tiny_model_cfg(tmp_path), 'fine_tune', ('cls_head.',))
    runner.load_checkpoint(path)
    conv1 = 'backbone.conv1.weight'
    assert torch.equal(runner.model.state_dict()[conv1], source[conv1])


def test_checked_runner_refuses_code_in_one_line(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'hook': print}, path)
    runner = runner_for(
        tiny_model_cfg(tmp_path), tmp_path, 'evil', CheckedRunner
    )
    with pytest.raises(UnsafeCheckpointError, match=r'refused to load .*evil'):
        runner.load_checkpoint(path)


def test_without_the_check_mmengine_only_warns(tmp_path):
    """What the check is for: mmengine loads the wrong depth silently."""
    path = str(tmp_path / 'r101.pth')
    torch.save(
        build_model(tiny_model_cfg(tmp_path, depth=101)).state_dict(), path
    )
    runner = runner_for(tiny_model_cfg(tmp_path), tmp_path, 'unchecked')
    assert getattr(Runner.load_checkpoint, 'loads', None) is None
    runner.load_checkpoint(path)  # no error


# --------------------------------------------------------------------------
# tools/test.py
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('foreign')
    ann = write_rawframe_dataset(str(root), [0, 1, 2, 0])
    config = write_tiny_config(
        str(root / 'tiny.py'), ann, str(root / 'frames')
    )
    return root, config


@pytest.mark.slow
def test_tools_test_reads_a_ddp_model_layout(dataset):
    root, config = dataset
    model = build_model(Config.fromfile(config).model)
    torch.save(
        {'model': {f'module.{k}': v for k, v in model.state_dict().items()}},
        str(root / 'ddp.pth'),
    )
    result = run_tool(
        [
            'test.py',
            config,
            'ddp.pth',
            '--work-dir',
            'w1',
            '--dump',
            'scores.pkl',
        ],
        str(root),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Load checkpoint from ddp.pth' in log
    assert 'do not match exactly' not in log  # mmengine's mismatch warning
    with open(root / 'scores.pkl', 'rb') as file:
        assert len(pickle.load(file)) == 4


@pytest.mark.slow
def test_tools_test_stops_on_another_arch_in_one_line(dataset):
    root, config = dataset
    cfg = Config.fromfile(config).model
    cfg.backbone.op.op_set = ['1xkxk', 'kx1x1', 'kxkxk']
    torch.save(
        {'state_dict': build_model(cfg).state_dict()},
        str(root / 'three_ops.pth'),
    )
    result = run_tool(
        ['test.py', config, 'three_ops.pth', '--work-dir', 'w2'], str(root)
    )
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        'error: three_ops.pth does not fit the model: backbone.layer1.0.conv2.'
    ), last
    assert (
        'in the checkpoint but (' in last and osp.basename(config) not in last
    )
