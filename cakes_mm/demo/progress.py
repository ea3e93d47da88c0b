"""One short progress line per epoch, for the demo's quiet console."""

import time
from typing import Callable, Dict, Optional

from mmengine.hooks import Hook


def echo(line: str) -> None:
    """Print a progress line at once.

    Args:
        line (str): The line.
    """
    print(line, flush=True)


#: The validation scores a progress line shows, and their labels.
SHOWN_METRICS = (('acc/top1', 'top-1'), ('dice/mean', 'mean Dice'))


class DemoProgressHook(Hook):
    """Print one line per training epoch and one per validation.

    The demo runs mmengine's runner with its console logging at WARNING, so
    that two trainings fit on a screen; this hook says what is happening.
    It is added to a built runner with ``runner.register_hook`` and needs no
    registry entry.

    Args:
        name (str): The model's name, printed at the start of each line.
        echo (Callable[[str], None]): Where lines go. Defaults to
            :func:`echo`.
    """

    priority = 'LOW'

    def __init__(
        self, name: str, echo: Optional[Callable[[str], None]] = None
    ) -> None:
        self.name = name
        self.echo = echo or globals()['echo']
        self.started = time.monotonic()
        self.losses = []

    def before_train(self, runner) -> None:
        """Start the clock."""
        self.started = time.monotonic()

    def after_train_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: Optional[dict] = None,
        outputs: Optional[Dict] = None,
    ) -> None:
        """Collect the iteration's loss."""
        if outputs and 'loss' in outputs:
            self.losses.append(float(outputs['loss'].detach()))

    def after_train_epoch(self, runner) -> None:
        """Print the epoch's mean loss, learning rate and elapsed time."""
        loss = sum(self.losses) / max(len(self.losses), 1)
        self.losses = []
        lr = runner.optim_wrapper.get_lr()['lr'][0]
        self.echo(
            f'[{self.name}] epoch {runner.epoch + 1}/'
            f'{runner.max_epochs}  loss {loss:.3f}  lr {lr:.4f}  '
            f'{time.monotonic() - self.started:.0f}s'
        )

    def after_val_epoch(
        self, runner, metrics: Optional[Dict[str, float]] = None
    ) -> None:
        """Print the validation score: top-1, or mean Dice for a
        segmentation model."""
        for key, label in SHOWN_METRICS:
            if metrics and key in metrics:
                self.echo(
                    f'[{self.name}] val {label} {100 * metrics[key]:.1f}%'
                )


def build_demo_runner(cfg, name: str, echo: Callable[[str], None] = echo):
    """Build the runner of one demo model, with a progress line per epoch
    and without the stack's irrelevant log lines.

    Args:
        cfg (Config): The model's config.
        name (str): The model's name in the progress lines.
        echo (Callable[[str], None]): Where lines go. Defaults to
            :func:`echo`.

    Returns:
        Runner: The runner.
    """
    from cakes_mm.apis.runner import runner_from_config
    from cakes_mm.environment import hide_irrelevant_log_messages

    runner = runner_from_config(cfg)
    hide_irrelevant_log_messages(runner.logger)
    runner.register_hook(DemoProgressHook(name, echo))
    return runner
