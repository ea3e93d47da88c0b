"""RandomStateHook: the generators' states go into each checkpoint and come
back on resume, not on a plain ``load_from``; tools/train.py adds it."""

import io
import logging
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config

from cakes_mm.apis.runner import use_run_guarantees
from cakes_mm.engine.hooks import RandomStateHook
from cakes_mm.engine.hooks.random_state_hook import (
    CHECKPOINT_KEY,
    get_random_state,
    set_random_state,
)


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


def fake_runner(iteration):
    return SimpleNamespace(iter=iteration, logger=logging.getLogger('test'))


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


@pytest.mark.parametrize(
    'listed, added',
    [
        ({}, True),
        ({'custom_hooks': [dict(type='CAKESSearchHook')]}, True),
        ({'custom_hooks': [dict(type='RandomStateHook')]}, False),
        (
            {
                'default_hooks': dict(
                    random=dict(type='RandomStateHook'), timer=None
                )
            },
            False,
        ),
    ],
)
def test_train_tool_adds_the_hook_once(listed, added):
    cfg = Config(listed)
    before = list(cfg.get('custom_hooks') or [])
    use_run_guarantees(cfg)
    after = list(cfg.get('custom_hooks') or [])
    assert after == (
        before + [dict(type='RandomStateHook')] if added else before
    )


@pytest.mark.parametrize(
    'checkpoint, expected',
    [
        (dict(type='CheckpointHook', interval=2), 'AtomicCheckpointHook'),
        (dict(type='AtomicCheckpointHook'), 'AtomicCheckpointHook'),
        (dict(type='MyCheckpointHook'), 'MyCheckpointHook'),
    ],
)
def test_train_tool_makes_plain_checkpoint_hooks_atomic(checkpoint, expected):
    cfg = Config(dict(default_hooks=dict(checkpoint=checkpoint)))
    use_run_guarantees(cfg)
    assert cfg.default_hooks.checkpoint.type == expected
    assert cfg.default_hooks.checkpoint.get('interval') == checkpoint.get(
        'interval'
    )
