import pytest
import torch

from cakes_mm.engine.hooks import FiniteLossHook
from engine.fake_runner import fake_runner


def runner(iteration):
    return fake_runner(iteration, epoch=2)


def test_finite_losses_pass():
    outputs = {
        'loss': torch.tensor(1.5),
        'loss_cls': torch.tensor(1.4),
        'top1_acc': torch.tensor(float('nan')),
    }  # not a loss
    FiniteLossHook().after_train_iter(runner(4), 0, outputs=outputs)


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_a_non_finite_loss_stops_naming_the_iteration(value):
    outputs = {
        'loss': torch.tensor(value),
        'loss_cls': torch.tensor(0.3),
        'loss_alpha': torch.tensor(value),
    }
    with pytest.raises(
        FloatingPointError, match=r'iteration 8 \(epoch 3\).*loss_alpha'
    ):
        FiniteLossHook().after_train_iter(runner(7), 0, outputs=outputs)


def test_interval_skips_iterations():
    outputs = {'loss': torch.tensor(float('nan'))}
    FiniteLossHook(interval=4).after_train_iter(runner(4), 0, outputs=outputs)
    with pytest.raises(FloatingPointError):
        FiniteLossHook(interval=4).after_train_iter(
            runner(3), 0, outputs=outputs
        )
