"""The schedule the CAKES search hooks that report share: act every
``interval`` epochs, or every ``interval`` iterations."""

from mmengine.hooks import Hook

from .search_state import searched_layers


class SearchIntervalHook(Hook):
    """Base of the search hooks that act every ``interval`` epochs (or
    iterations); a subclass says what it does in :meth:`act`.

    Before the run it checks that the model has searched layers, so a
    misconfigured search fails at once rather than at the first report.

    Args:
        interval (int): Act every ``interval`` epochs (or iterations).
            Defaults to 1.
        by_epoch (bool): Whether ``interval`` counts epochs. Defaults to
            True.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1, by_epoch: bool = True) -> None:
        if interval < 1:
            raise ValueError(
                f'{type(self).__name__}: interval must be >= 1, got {interval}'
            )
        self.interval = interval
        self.by_epoch = by_epoch

    def before_run(self, runner) -> None:
        """Fail early on a model without searched layers."""
        searched_layers(runner, type(self).__name__)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        """Act every ``interval`` iterations when not by epoch."""
        if not self.by_epoch and self.every_n_train_iters(
            runner, self.interval
        ):
            self.act(runner, f'iter_{runner.iter + 1}')

    def after_train_epoch(self, runner) -> None:
        """Act every ``interval`` epochs when by epoch."""
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            self.act(runner, f'epoch_{runner.epoch + 1}')

    def act(self, runner, when: str) -> None:
        """Do the hook's job.

        Args:
            runner (Runner): The runner.
            when (str): ``'epoch_{N}'`` or ``'iter_{N}'``, counted from 1.
        """
        raise NotImplementedError
