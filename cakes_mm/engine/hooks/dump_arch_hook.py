"""Write the architectures a CAKES search derives as arch JSON files."""

import os.path as osp
from typing import Optional

from mmaction.registry import HOOKS
from mmengine.dist import is_main_process

from ...models.arch import Arch, save_arch
from ...models.search import is_frozen
from .search_interval_hook import SearchIntervalHook
from .search_state import derive_arch


@HOOKS.register_module()
class DumpArchHook(SearchIntervalHook):
    """Write a CAKES search's derived architecture as arch JSON.

    The files, in ``out_dir``:

    * ``arch_epoch_{N}.json`` (or ``arch_iter_{N}.json`` when not by
      epoch) every ``interval``, and ``arch_latest.json`` beside it;
    * ``arch_frozen.json`` at the end of the epoch in which the choice
      got frozen (by :class:`FreezeSubnetHook`); a run resumed on a
      frozen choice does not write it again;
    * ``arch_final.json`` after training.

    When α is not finite nothing is written and an error is logged. Only
    rank 0 writes, and every write is atomic. Its priority is just below
    normal, so that at an epoch's end it sees a freeze that a
    normal-priority :class:`FreezeSubnetHook` made.

    :class:`CAKESSearchHook` includes this hook.

    Args:
        interval (int): Write every ``interval`` epochs (or iterations).
            Defaults to 1.
        by_epoch (bool): Whether ``interval`` counts epochs. Defaults to
            True.
        out_dir (str, optional): Where the files go. Defaults to the
            runner's ``work_dir``.
    """

    priority = 'BELOW_NORMAL'

    def __init__(
        self,
        interval: int = 1,
        by_epoch: bool = True,
        out_dir: Optional[str] = None,
    ) -> None:
        super().__init__(interval, by_epoch)
        self.out_dir = out_dir
        self._frozen_dumped = False

    def before_run(self, runner) -> None:
        """Check the model and settle the output folder."""
        super().before_run(runner)
        self.out_dir = self.out_dir or runner.work_dir

    def before_train(self, runner) -> None:
        """A choice frozen before a resume was dumped by the run that
        froze it."""
        self._frozen_dumped = is_frozen(runner.model)

    def act(self, runner, when: str) -> None:
        """Write ``arch_{when}.json`` and ``arch_latest.json``."""
        arch = derive_arch(runner)
        if arch is not None:
            self._write(arch, f'arch_{when}.json')
            self._write(arch, 'arch_latest.json')

    def after_train_epoch(self, runner) -> None:
        """Write on schedule, and ``arch_frozen.json`` once frozen."""
        super().after_train_epoch(runner)
        if self._frozen_dumped or not is_frozen(runner.model):
            return
        self._frozen_dumped = True
        self._write_announced(runner, 'frozen')

    def after_train(self, runner) -> None:
        """Write the final architecture."""
        self._write_announced(runner, 'final')

    def _write_announced(self, runner, stage: str) -> None:
        """Write ``arch_{stage}.json`` and say where in the log.

        Args:
            runner: The runner.
            stage (str): ``'frozen'`` or ``'final'``.
        """
        arch = derive_arch(runner)
        if arch is not None:
            name = f'arch_{stage}.json'
            self._write(arch, name)
            runner.logger.info(
                f'CAKES search: {stage} architecture written to '
                f'{osp.join(self.out_dir, name)}'
            )

    def _write(self, arch: Arch, name: str) -> None:
        """Write an arch JSON atomically, on rank 0 only."""
        if is_main_process():
            save_arch(arch, osp.join(self.out_dir, name))
