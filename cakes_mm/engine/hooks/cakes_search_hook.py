"""The one-line CAKES search hook: every search job, in one config entry."""

from typing import Optional, Sequence

from mmaction.registry import HOOKS
from mmengine.hooks import Hook

from .dump_arch_hook import DumpArchHook
from .estimate_resources_hook import EstimateResourcesHook
from .freeze_subnet_hook import FreezeSubnetHook
from .log_arch_hook import LogArchHook
from .search_path_hook import SearchPathHook
from .search_state import searched_layers


@HOOKS.register_module()
class CAKESSearchHook(Hook):
    """Log, export and freeze the architecture of a CAKES search.

    It works on any model with searched layers
    (:func:`~cakes_mm.models.search.search_layers`): the CAKES ResNet
    supernet, or any network converted with ``ConvertedNet(op=dict(type='cakes_search', ...))``.
    It runs five hooks, each of one job, which can also be listed alone:

    * :class:`SearchPathHook` seeds the generator that draws the
      performance-priority paths from the run's seed and keeps it in each
      checkpoint, so a resumed search draws the same paths;
    * :class:`FreezeSubnetHook` fixes the derived choice at the end of
      epoch ``freeze_at`` and keeps the optimizer off the dropped filters;
    * :class:`LogArchHook` logs each searched layer's op shares and α
      statistics every ``interval``, to the log and (as scalars) to the
      visualizer's backends, with the per-axis channel count on models
      with ``axis_names``;
    * :class:`EstimateResourcesHook` logs the params and GFLOPs of the
      derived subnet every ``interval``;
    * :class:`DumpArchHook` writes ``arch_epoch_{N}.json`` (or
      ``arch_iter_{N}.json``) and ``arch_latest.json`` every
      ``interval``, ``arch_frozen.json`` at the freeze and
      ``arch_final.json`` after training; only rank 0 writes, and every
      write is atomic.

    They run in that order at every stage.

    Args:
        interval (int): Report every ``interval`` epochs (or iterations).
            Defaults to 1.
        by_epoch (bool): Whether ``interval`` counts epochs. Defaults to
            True.
        freeze_at (int, optional): The epoch after which the choice is
            frozen; None never freezes. Defaults to None.
        out_dir (str, optional): Where the JSON files go. Defaults to the
            runner's ``work_dir``.
        input_shape (Sequence[int], optional): Input shape for the
            subnet's GFLOPs. Defaults to the config's test input.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        interval: int = 1,
        by_epoch: bool = True,
        freeze_at: Optional[int] = None,
        out_dir: Optional[str] = None,
        input_shape: Optional[Sequence[int]] = None,
    ) -> None:
        self.parts = [
            SearchPathHook(),
            FreezeSubnetHook(freeze_at),
            LogArchHook(interval, by_epoch),
            EstimateResourcesHook(interval, by_epoch, input_shape),
            DumpArchHook(interval, by_epoch, out_dir),
        ]

    def _each(self, stage: str, runner, *args) -> None:
        """Call ``stage`` on every part, in order."""
        for part in self.parts:
            getattr(part, stage)(runner, *args)

    def before_run(self, runner) -> None:
        """Check the model, then set every part up."""
        searched_layers(runner, type(self).__name__)
        self._each('before_run', runner)

    def before_train(self, runner) -> None:
        """Forward to every part."""
        self._each('before_train', runner)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        """Forward to every part."""
        self._each('after_train_iter', runner, batch_idx, data_batch, outputs)

    def after_train_epoch(self, runner) -> None:
        """Forward to every part."""
        self._each('after_train_epoch', runner)

    def after_train(self, runner) -> None:
        """Forward to every part."""
        self._each('after_train', runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Forward to every part."""
        self._each('before_save_checkpoint', runner, checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Forward to every part."""
        self._each('after_load_checkpoint', runner, checkpoint)
