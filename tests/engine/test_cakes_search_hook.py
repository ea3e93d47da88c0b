import json
from unittest import mock

import pytest
import torch

from cakes_mm.engine.hooks import CAKESSearchHook, dump_arch_hook
from cakes_mm.models.search import (
    cost_lasso,
    dump_chosen,
    is_frozen,
)
from engine.fake_runner import (
    assert_pinned,
    make_runner,
    spread_alpha,
    train_steps,
)


def test_reports_write_arch_files_and_scalars(tmp_path):
    runner = make_runner(tmp_path)
    hook = CAKESSearchHook(interval=1)
    hook.before_run(runner)
    hook.after_train_epoch(runner)
    arch = json.loads((tmp_path / 'arch_epoch_1.json').read_text())
    assert json.loads((tmp_path / 'arch_latest.json').read_text()) == arch
    assert [
        sum(b.values()) for b in arch
    ] == runner.model.backbone.block_widths
    # The op shares and the subnet's cost come from two part hooks, as two
    # sets of scalars at the same step.
    assert {step for step, _ in runner.visualizer.scalars} == {10}
    scalars = runner.visualizer.merged()
    layer = 'search/backbone.layer1.0.conv2'
    assert scalars[f'{layer}/share_1xkxk'] + scalars[
        f'{layer}/share_kx1x1'
    ] == pytest.approx(1)
    assert scalars['search/subnet_gflops'] > 0
    log = (tmp_path / 'log.txt').read_text()
    assert 'backbone.layer4.2.conv2: 1xkxk' in log and 'GFLOPs' in log
    assert not list(tmp_path.glob('*.tmp'))


def test_only_rank_zero_writes(tmp_path):
    runner = make_runner(tmp_path)
    hook = CAKESSearchHook(interval=1, freeze_at=1)
    hook.before_run(runner)
    with mock.patch.object(
        dump_arch_hook, 'is_main_process', return_value=False
    ):
        hook.after_train_epoch(runner)
        hook.after_train(runner)
    assert not list(tmp_path.glob('arch_*.json'))
    assert is_frozen(runner.model)  # every rank freezes
    hook.after_train(runner)
    assert [p.name for p in tmp_path.glob('arch_*.json')] == [
        'arch_final.json'
    ]


def test_freeze_stops_sampling_and_pins_unchosen_filters(tmp_path):
    runner = make_runner(tmp_path)
    backbone = runner.model.backbone
    spread_alpha(runner)
    hook = CAKESSearchHook(interval=5, freeze_at=1)
    hook.before_run(runner)
    hook.after_train_epoch(runner)
    frozen = json.loads((tmp_path / 'arch_frozen.json').read_text())
    assert frozen == dump_chosen(backbone)
    conv = backbone.layer3[1].conv2
    before = conv.convs['1xkxk'].weight.detach().clone()
    train_steps(runner)
    assert_pinned(runner, conv, before)


def test_resume_draws_the_same_paths(tmp_path):
    runner = make_runner(tmp_path)
    hook = CAKESSearchHook()
    hook.before_run(runner)
    conv = runner.model.backbone.layer1[0].conv2
    conv.sample_mask()
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    expected = [conv.sample_mask() for _ in range(3)]
    resumed = make_runner(tmp_path)
    resumed_hook = CAKESSearchHook()
    resumed_hook.before_run(resumed)
    resumed_hook.after_load_checkpoint(resumed, checkpoint)
    again = resumed.model.backbone.layer1[0].conv2
    assert all(
        torch.equal(a, b)
        for a, b in zip(expected, [again.sample_mask() for _ in range(3)])
    )


def test_nan_alpha_is_never_exported(tmp_path):
    runner = make_runner(tmp_path)
    with torch.no_grad():
        runner.model.backbone.layer2[0].conv2.search_bn.weight[3] = float(
            'nan'
        )
    hook = CAKESSearchHook(freeze_at=1)
    hook.before_run(runner)
    hook.after_train_epoch(runner)
    hook.after_train(runner)
    assert not list(tmp_path.glob('arch_*.json'))
    assert not is_frozen(runner.model)
    assert 'NaN or inf' in (tmp_path / 'log.txt').read_text()


def test_bad_setups(tmp_path):
    with pytest.raises(ValueError, match='no searchable layer'):
        CAKESSearchHook().before_run(make_runner(tmp_path, None))
    with pytest.raises(ValueError, match='freeze_at=3 is beyond max_epochs=2'):
        CAKESSearchHook(freeze_at=3).before_run(make_runner(tmp_path))
    with pytest.raises(ValueError, match='freeze_at must be an epoch'):
        CAKESSearchHook(freeze_at=0)


def test_recognizer_logs_loss_alpha_in_cost_mode(tmp_path):
    from mmaction.structures import ActionDataSample

    model = make_runner(tmp_path, 'cost').model
    samples = [ActionDataSample().set_gt_label(i) for i in range(2)]
    losses = model.loss(torch.randn(2, 1, 3, 4, 32, 32), samples)
    assert set(losses) >= {'loss_cls', 'loss_alpha'}
    torch.testing.assert_close(losses['loss_alpha'], cost_lasso(model))
    perf = make_runner(tmp_path).model
    assert 'loss_alpha' not in perf.loss(
        torch.randn(2, 1, 3, 4, 32, 32), samples
    )
