"""RandomStateHook: the generators' states go into each checkpoint and come
back on resume, not on a plain ``load_from``; our base runtime config lists
it, and tools/train.py (cakes_mm.apis.train) adds nothing a config leaves
out."""

import io
import os.path as osp
import random
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.config import Config
from tool_helpers import REPO

from cakes_mm.apis import train as train_api
from cakes_mm.engine.hooks import RandomStateHook
from cakes_mm.engine.hooks.random_state_hook import (
    CHECKPOINT_KEY,
    get_random_state,
    set_random_state,
)
from engine.fake_runner import fake_runner


def draws():
    """One number from each global generator."""
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


def test_state_round_trip_repeats_the_draws():
    state = get_random_state()
    first = draws()
    set_random_state(state)
    assert draws() == first


def test_the_state_loads_with_weights_only():
    buffer = io.BytesIO()
    torch.save({CHECKPOINT_KEY: get_random_state()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)[CHECKPOINT_KEY]
    first = draws()
    set_random_state(state)
    assert draws() == first


def test_hook_restores_on_resume_only():
    hook = RandomStateHook()
    checkpoint = {}
    hook.before_save_checkpoint(fake_runner(6), checkpoint)
    expected = draws()

    hook.after_load_checkpoint(fake_runner(0), checkpoint)
    hook.before_train(fake_runner(0))  # load_from: iteration 0, left alone
    assert draws() != expected

    hook.after_load_checkpoint(fake_runner(6), checkpoint)
    hook.before_train(fake_runner(6))  # resumed at iteration 6
    assert draws() == expected


def test_checkpoint_without_a_state_changes_nothing():
    hook = RandomStateHook()
    hook.after_load_checkpoint(fake_runner(4), {'state_dict': {}})
    state = get_random_state()
    hook.before_train(fake_runner(4))
    first = draws()
    set_random_state(state)
    assert draws() == first


def test_the_base_runtime_names_the_run_guarantees():
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/default_runtime.py'))
    assert cfg.runner_type == 'CheckedRunner'
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.random_state.type == 'RandomStateHook'


def test_the_train_tool_keeps_the_configs_hooks(tmp_path, monkeypatch):
    """A config that lists neither hook trains without them (the tool adds
    nothing the config does not say)."""
    path = tmp_path / 'plain.py'
    Config(
        dict(
            default_hooks=dict(checkpoint=dict(type='CheckpointHook')),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        )
    ).dump(str(path))
    built = []

    def build_runner(cfg):
        built.append(cfg)
        return SimpleNamespace(train=lambda: None)

    monkeypatch.setattr(train_api, 'build_runner', build_runner)
    train_api.main([str(path), '--work-dir', str(tmp_path / 'work')])
    cfg = built[0]
    assert cfg.default_hooks == dict(checkpoint=dict(type='CheckpointHook'))
    assert 'custom_hooks' not in cfg and 'runner_type' not in cfg
