"""Each job of the CAKES search, as its own hook used alone."""

import json
import os

import pytest
import torch
from mmaction.registry import HOOKS

from cakes_mm.engine.hooks import (
    CAKESSearchHook,
    DumpArchHook,
    EstimateResourcesHook,
    FreezeSubnetHook,
    LogArchHook,
    SearchPathHook,
)
from cakes_mm.models.search import (
    dump_chosen,
    fix_chosen,
    is_frozen,
    search_layers,
    subnet_complexity,
)
from cakes_mm.models.search.paths import (
    CONV_PLAN_CACHE,
    ONEDNN_CACHE_VARIABLE,
)
from engine.fake_runner import (
    assert_pinned,
    make_runner,
    spread_alpha,
    train_steps,
)

PARTS = [
    SearchPathHook,
    FreezeSubnetHook,
    LogArchHook,
    EstimateResourcesHook,
    DumpArchHook,
]


def test_every_part_is_registered_and_the_composite_runs_them_in_order():
    for part in PARTS:
        assert HOOKS.get(part.__name__) is part
    hook = CAKESSearchHook(interval=3, by_epoch=False, freeze_at=2)
    assert [type(part) for part in hook.parts] == PARTS
    assert hook.parts[1].freeze_at == 2
    assert {(p.interval, p.by_epoch) for p in hook.parts[2:]} == {(3, False)}


def test_freeze_hook_alone_freezes_pins_and_writes_nothing(tmp_path):
    runner = make_runner(tmp_path)
    spread_alpha(runner)
    derived = dump_chosen(runner.model)
    hook = FreezeSubnetHook(freeze_at=2)
    hook.before_run(runner)
    hook.after_train_epoch(runner)  # epoch 1: not yet
    assert not is_frozen(runner.model)
    runner.epoch = 1
    hook.after_train_epoch(runner)
    assert is_frozen(runner.model)
    assert dump_chosen(runner.model) == derived
    assert not list(tmp_path.glob('arch_*.json'))
    assert runner.visualizer.scalars == []
    conv = runner.model.backbone.layer3[1].conv2
    before = conv.convs['1xkxk'].weight.detach().clone()
    train_steps(runner)
    assert_pinned(runner, conv, before)


def test_freeze_hook_pins_a_resumed_frozen_choice(tmp_path):
    frozen = make_runner(tmp_path)
    spread_alpha(frozen)
    fix_chosen(frozen.model)
    resumed = make_runner(tmp_path)
    resumed.model.load_state_dict(frozen.model.state_dict())
    assert is_frozen(resumed.model)
    hook = FreezeSubnetHook()  # never freezes itself
    hook.before_run(resumed)
    hook.before_train(resumed)
    conv = resumed.model.backbone.layer2[0].conv2
    before = conv.convs['1xkxk'].weight.detach().clone()
    train_steps(resumed)
    assert_pinned(resumed, conv, before)
    log = (tmp_path / 'log.txt').read_text()
    assert 'resumed on a frozen choice' in log


def test_dump_hook_alone_writes_the_arch_files(tmp_path):
    runner = make_runner(tmp_path)
    spread_alpha(runner)
    out = tmp_path / 'archs'
    hook = DumpArchHook(interval=5, by_epoch=False, out_dir=str(out))
    hook.before_run(runner)
    hook.before_train(runner)
    hook.after_train_iter(runner, 9)  # iteration 10
    derived = dump_chosen(runner.model)
    assert json.loads((out / 'arch_iter_10.json').read_text()) == derived
    assert json.loads((out / 'arch_latest.json').read_text()) == derived
    assert not is_frozen(runner.model)
    runner.iter = 10
    hook.after_train_iter(runner, 10)  # iteration 11: off schedule
    assert not (out / 'arch_iter_11.json').exists()
    hook.after_train_epoch(runner)  # by iteration: no epoch file
    assert sorted(p.name for p in out.iterdir()) == [
        'arch_iter_10.json',
        'arch_latest.json',
    ]
    fix_chosen(runner.model)  # as a FreezeSubnetHook would
    hook.after_train_epoch(runner)
    assert json.loads((out / 'arch_frozen.json').read_text()) == derived
    (out / 'arch_frozen.json').unlink()
    hook.after_train_epoch(runner)  # written once only
    assert not (out / 'arch_frozen.json').exists()
    hook.after_train(runner)
    assert json.loads((out / 'arch_final.json').read_text()) == derived
    assert runner.visualizer.scalars == []
    assert not list(out.glob('*.tmp'))


def test_dump_hook_does_not_rewrite_a_resumed_frozen_choice(tmp_path):
    runner = make_runner(tmp_path)
    fix_chosen(runner.model)
    hook = DumpArchHook()
    hook.before_run(runner)
    hook.before_train(runner)
    hook.after_train_epoch(runner)
    assert (tmp_path / 'arch_epoch_1.json').exists()
    assert not (tmp_path / 'arch_frozen.json').exists()


def test_path_hook_alone_seeds_saves_and_restores(tmp_path, monkeypatch):
    monkeypatch.setenv(ONEDNN_CACHE_VARIABLE, 'restored after the test')
    monkeypatch.delenv(ONEDNN_CACHE_VARIABLE)
    runner = make_runner(tmp_path)
    hook = SearchPathHook()
    hook.before_run(runner)
    assert os.environ[ONEDNN_CACHE_VARIABLE] == str(CONV_PLAN_CACHE)
    torch.testing.assert_close(
        hook.path_generator.get_state(),
        torch.Generator().manual_seed(runner.seed).get_state(),
    )
    layers = search_layers(runner.model)
    assert all(layer.generator is hook.path_generator for _, layer in layers)
    conv = runner.model.backbone.layer1[0].conv2
    conv.sample_mask()
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    assert list(checkpoint) == ['cakes_search']
    assert list(checkpoint['cakes_search']) == ['path_generator']
    expected = [conv.sample_mask() for _ in range(3)]
    resumed = make_runner(tmp_path)
    resumed_hook = SearchPathHook()
    resumed_hook.before_run(resumed)
    resumed_hook.after_load_checkpoint(resumed, checkpoint)
    again = resumed.model.backbone.layer1[0].conv2
    for mask in expected:
        assert torch.equal(again.sample_mask(), mask)


@pytest.mark.parametrize(
    'input_shape, shape',
    [(None, (1, 3, 4, 32, 32)), ((1, 3, 8, 32, 32), (1, 3, 8, 32, 32))],
)
def test_resources_hook_alone_counts_the_subnet(tmp_path, input_shape, shape):
    runner = make_runner(tmp_path)
    hook = EstimateResourcesHook(input_shape=input_shape)
    hook.before_run(runner)
    hook.after_train_epoch(runner)
    expected = subnet_complexity(runner.model, shape)
    [(step, scalars)] = runner.visualizer.scalars
    assert step == 10
    assert scalars == {
        'search/subnet_params_m': expected.params_m,
        'search/subnet_gflops': expected.gflops,
    }
    assert (
        f'{expected.gflops:.2f} GFLOPs' in (tmp_path / 'log.txt').read_text()
    )
    assert not list(tmp_path.glob('arch_*.json'))


def test_log_hook_alone_logs_shares_only(tmp_path):
    runner = make_runner(tmp_path)
    hook = LogArchHook(interval=2)
    hook.before_run(runner)
    hook.after_train_epoch(runner)  # epoch 1: off schedule
    assert runner.visualizer.scalars == []
    runner.epoch = 1
    hook.after_train_epoch(runner)
    [(step, scalars)] = runner.visualizer.scalars
    assert step == 10
    assert scalars['search/share_1xkxk'] + scalars[
        'search/share_kx1x1'
    ] == pytest.approx(1)
    assert not [key for key in scalars if 'subnet' in key]
    assert (
        'backbone.layer4.2.conv2: 1xkxk' in (tmp_path / 'log.txt').read_text()
    )
    assert not list(tmp_path.glob('arch_*.json'))


@pytest.mark.parametrize('part', PARTS)
def test_each_part_names_itself_on_a_model_without_search(tmp_path, part):
    with pytest.raises(ValueError, match=f'^{part.__name__}: the model'):
        part().before_run(make_runner(tmp_path, None))


def test_composite_names_itself_on_a_model_without_search(tmp_path):
    with pytest.raises(ValueError, match='^CAKESSearchHook: the model'):
        CAKESSearchHook().before_run(make_runner(tmp_path, None))
