"""Stop training at the first NaN or inf loss."""

import math

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop training when a loss term becomes NaN or inf.

    It runs right after each iteration, before any checkpoint of that
    iteration is written, and raises a ``FloatingPointError`` that names the
    iteration, the epoch and the offending terms. The checkpoints already on
    disk, the last good one included, are left as they are.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        """Raise if any loss in ``outputs`` is not finite."""
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        losses = {
            key: float(value.detach() if torch.is_tensor(value) else value)
            for key, value in outputs.items()
            if 'loss' in key
        }
        bad = {
            key: value
            for key, value in losses.items()
            if not math.isfinite(value)
        }
        if bad:
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}): {bad}. Training stopped; the '
                f'checkpoints in {runner.work_dir} are from before it.'
            )
