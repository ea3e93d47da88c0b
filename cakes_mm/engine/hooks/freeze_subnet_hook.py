"""Freeze a CAKES search's choice and keep the optimizer off the filters
it drops."""

from typing import List, Optional

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook

from ...models.search import fix_chosen, is_frozen
from .search_state import derive_arch, searched_layers


@HOOKS.register_module()
class FreezeSubnetHook(Hook):
    """Fix the architecture a CAKES search derives at a given epoch.

    At the end of epoch ``freeze_at`` it fixes the derived choice: paths
    are no longer sampled, and unchosen filters are neither computed nor
    updated. It pins those filters' rows around every optimizer step, so
    that weight decay and momentum leave them as they were and their
    optimizer state stays zero. A run resumed on a frozen choice is
    pinned again before training. When α is not finite it does not
    freeze, and logs an error.

    :class:`CAKESSearchHook` includes this hook; :class:`DumpArchHook`
    writes the frozen choice to ``arch_frozen.json``.

    Args:
        freeze_at (int, optional): The epoch (from 1) after which the
            choice is frozen; None never freezes, but still pins a choice
            that a resumed run finds frozen. Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self, freeze_at: Optional[int] = None) -> None:
        if freeze_at is not None and (
            isinstance(freeze_at, bool)
            or not isinstance(freeze_at, int)
            or freeze_at < 1
        ):
            raise ValueError(
                f'{type(self).__name__}: freeze_at must be an epoch >= 1 '
                f'or None, got {freeze_at!r}'
            )
        self.freeze_at = freeze_at
        self._pin_handles: List = []

    def before_run(self, runner) -> None:
        """Check that the model is searched and the freeze will come."""
        searched_layers(runner, type(self).__name__)
        if self.freeze_at is not None and self.freeze_at > runner.max_epochs:
            raise ValueError(
                f'{type(self).__name__}: freeze_at={self.freeze_at} is '
                f'beyond max_epochs={runner.max_epochs}; the choice would '
                f'never be frozen'
            )

    def before_train(self, runner) -> None:
        """A run resumed after the freeze stays frozen and pinned."""
        if is_frozen(runner.model):
            runner.logger.info('CAKES search: resumed on a frozen choice')
            self._pin_unchosen(runner)

    def after_train_epoch(self, runner) -> None:
        """Freeze and pin at the end of epoch ``freeze_at``."""
        epoch = runner.epoch + 1
        if self.freeze_at != epoch or is_frozen(runner.model):
            return
        if derive_arch(runner) is None:
            return
        fix_chosen(runner.model)
        self._pin_unchosen(runner)
        runner.logger.info(
            f'CAKES search: froze the architecture after epoch {epoch}; '
            f'training continues on the fixed subnet'
        )

    def _pin_unchosen(self, runner) -> None:
        """Keep the optimizer from moving the rows a frozen choice drops.

        Unchosen filters get no gradient (they are not computed), but
        weight decay and momentum would still move them. Around every step
        their values are restored and their optimizer state zeroed.
        """
        for handle in self._pin_handles:
            handle.remove()
        rows = [
            row
            for _, layer in searched_layers(runner, type(self).__name__)
            for row in layer.unchosen_rows()
        ]
        optimizer = runner.optim_wrapper.optimizer
        saved = []

        def keep(opt, args, kwargs):
            saved[:] = [(p, idx, p.detach()[idx].clone()) for p, idx in rows]

        def restore(opt, args, kwargs):
            with torch.no_grad():
                for p, idx, value in saved:
                    p[idx] = value
                    for state in opt.state.get(p, {}).values():
                        if torch.is_tensor(state) and state.shape == p.shape:
                            state[idx] = 0

        self._pin_handles = [
            optimizer.register_step_pre_hook(keep),
            optimizer.register_step_post_hook(restore),
        ]
