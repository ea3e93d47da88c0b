"""Seed, share and checkpoint the generator that draws a CAKES search's
performance-priority paths."""

from typing import Optional

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook

from ...models.search import share_path_generator
from ...models.search.paths import reserve_conv_plans
from .search_state import searched_layers


@HOOKS.register_module()
class SearchPathHook(Hook):
    """Make a CAKES search draw the same paths when it is resumed.

    Before the run it gives every searched layer one generator, seeded
    from the run's seed (0 when the run has none), and lets oneDNN keep
    the conv plans of the drawn paths
    (:func:`~cakes_mm.models.search.paths.reserve_conv_plans`). Each
    checkpoint keeps the generator's state under
    ``checkpoint['cakes_search']['path_generator']``, and loading one
    restores it; a checkpoint without it leaves the generator as seeded.

    :class:`CAKESSearchHook` includes this hook.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self.path_generator: Optional[torch.Generator] = None

    def before_run(self, runner) -> None:
        """Seed the searched layers' shared generator from the run."""
        searched_layers(runner, type(self).__name__)
        reserve_conv_plans()
        seed = runner.seed if runner.seed is not None else 0
        self.path_generator = share_path_generator(runner.model, seed)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Save the path generator's state with the checkpoint."""
        checkpoint['cakes_search'] = dict(
            path_generator=self.path_generator.get_state()
        )

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the path generator's state from a checkpoint."""
        state = checkpoint.get('cakes_search', {}).get('path_generator')
        if state is not None:
            self.path_generator.set_state(state)
