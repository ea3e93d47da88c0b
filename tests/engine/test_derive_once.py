"""The search hooks that report at the same moment share one derivation
of the arch, and a changed α or iteration derives it anew."""

import json
from unittest import mock

import pytest
import torch

from cakes_mm.engine.hooks import CAKESSearchHook, search_state
from cakes_mm.models.search import dump_chosen, is_frozen
from engine.fake_runner import make_runner, spread_alpha


@pytest.fixture
def derivations():
    """Counts the derivations the search hooks make (the calls of
    ``dump_chosen`` behind ``derive_arch``)."""
    with mock.patch.object(
        search_state, 'dump_chosen', wraps=dump_chosen
    ) as counted:
        yield counted


def test_one_report_derives_once_for_every_hook(tmp_path, derivations):
    runner = make_runner(tmp_path)
    spread_alpha(runner)
    derived = dump_chosen(runner.model)
    hook = CAKESSearchHook(interval=1, freeze_at=1)
    hook.before_run(runner)
    hook.before_train(runner)
    # The freeze, the op shares, the subnet's cost, arch_epoch_1.json and
    # arch_frozen.json all need the derived arch.
    hook.after_train_epoch(runner)
    assert derivations.call_count == 1
    assert is_frozen(runner.model)
    for name in ('arch_epoch_1.json', 'arch_latest.json', 'arch_frozen.json'):
        assert json.loads((tmp_path / name).read_text()) == derived
    assert {step for step, _ in runner.visualizer.scalars} == {10}
    assert len(runner.visualizer.scalars) == 2  # shares, then cost
    hook.after_train(runner)  # same iteration, same α
    assert derivations.call_count == 1
    assert json.loads((tmp_path / 'arch_final.json').read_text()) == derived


def test_a_step_or_another_iteration_derives_anew(tmp_path, derivations):
    runner = make_runner(tmp_path)
    first = search_state.derive_arch(runner)
    assert search_state.derive_arch(runner) == first
    assert derivations.call_count == 1
    # Each caller gets its own copy.
    first[0].clear()
    assert search_state.derive_arch(runner)[0]
    assert derivations.call_count == 1
    # An optimizer step moves α at the same iteration (an epoch's end and
    # the next epoch's first iteration share runner.iter).
    optimizer = runner.optim_wrapper.optimizer
    optimizer.zero_grad()
    runner.model.backbone(torch.randn(2, 3, 4, 32, 32)).mean().backward()
    optimizer.step()
    assert search_state.derive_arch(runner) == dump_chosen(runner.model)
    assert derivations.call_count == 2
    runner.iter += 1
    search_state.derive_arch(runner)
    assert derivations.call_count == 3


def test_non_finite_alpha_is_reported_once_per_report(tmp_path, derivations):
    runner = make_runner(tmp_path)
    with torch.no_grad():
        runner.model.backbone.layer2[0].conv2.search_bn.weight[3] = float(
            'nan'
        )
    hook = CAKESSearchHook(freeze_at=1)
    hook.before_run(runner)
    hook.after_train_epoch(runner)
    assert derivations.call_count == 1
    assert not list(tmp_path.glob('arch_*.json'))
    log = (tmp_path / 'log.txt').read_text()
    assert log.count('no architecture exported') == 1
