"""The runner our base runtime config names (``runner_type``)."""

import pickle
from typing import Callable, Sequence, Union

from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import (
    CheckpointLoader,
    _load_checkpoint_to_model,
)

from ..checkpoint.fit_check import check_fit, with_state_dict_entry
from ..checkpoint.safe_load import UnsafeCheckpointError, refusal
from ..models.utils import unwrap_model

#: Key prefixes that a ``load_from`` checkpoint need not fit when training
#: starts from it: fine-tuning to another number of classes.
FINE_TUNING_TOLERATES = ('cls_head.',)


@RUNNERS.register_module()
class CheckedRunner(Runner):
    """mmengine's ``Runner``, loading only checkpoints that fit the model.

    mmengine loads ``load_from``, ``resume`` and test checkpoints with
    ``strict=False``, which only warns about missing, unexpected or
    differently shaped keys: a checkpoint of another depth or arch would
    then run on partly random weights. This runner's
    :meth:`load_checkpoint` raises
    :class:`~cakes_mm.checkpoint.fit_check.CheckpointMismatchError` instead,
    naming the file, the first key that does not fit and both shapes. Keys
    under :data:`FINE_TUNING_TOLERATES` are left to mmengine's warnings
    while training starts from a ``load_from`` checkpoint; a resumed or
    tested checkpoint must fit exactly. Weights under ``model`` are read as
    well as under ``state_dict``, and a checkpoint that torch's
    ``weights_only`` unpickler refuses stops with one line
    (:class:`~cakes_mm.checkpoint.safe_load.UnsafeCheckpointError`).

    Select it with ``runner_type = 'CheckedRunner'`` in a config, as
    ``configs/_base_/default_runtime.py`` does. It is registered in
    mmengine's own ``RUNNERS`` (not mmaction2's, like our other classes):
    mmengine looks the runner up before any default scope is set. Its
    arguments are ``Runner``'s.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: Key prefixes the checkpoint loaded next may not fit.
        self.tolerated_keys: Sequence[str] = ()

    def train(self):
        """Train, tolerating :data:`FINE_TUNING_TOLERATES` in a
        ``load_from`` checkpoint (not in a resumed one).

        Returns:
            The trained model, as ``Runner.train`` returns it.
        """
        # ``_resume`` is Runner's own record of the ``resume`` argument;
        # mmengine offers no public accessor.
        self.tolerated_keys = () if self._resume else FINE_TUNING_TOLERATES
        try:
            return super().train()
        finally:
            self.tolerated_keys = ()

    def load_checkpoint(
        self,
        filename: str,
        map_location: Union[str, Callable] = 'cpu',
        strict: bool = False,
        revise_keys: Sequence[tuple] = ((r'^module\.', ''),),
    ) -> dict:
        """Load ``filename`` into the model if it fits.

        The steps are ``Runner.load_checkpoint``'s (read through mmengine's
        ``CheckpointLoader``, the ``after_load_checkpoint`` hooks, the
        weights into the model), with the fit check before the weights go
        in; the method is written out rather than extended because the
        check must see the checkpoint before the model takes it.

        Args:
            filename (str): Local path, URL or any prefix that mmengine's
                ``CheckpointLoader`` reads.
            map_location (str | Callable): As for :func:`torch.load`.
                Defaults to ``'cpu'``.
            strict (bool): Passed on to mmengine's loading into the model.
                Defaults to False.
            revise_keys (Sequence[tuple]): ``(pattern, replacement)``
                pairs applied to the keys. Defaults to removing
                ``module.``.

        Returns:
            dict: The checkpoint.
        """
        try:
            checkpoint = CheckpointLoader.load_checkpoint(
                filename, map_location, self.logger
            )
        except pickle.UnpicklingError as error:
            raise UnsafeCheckpointError(refusal(filename, error)) from None
        checkpoint = with_state_dict_entry(checkpoint)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = unwrap_model(self.model)
        check_fit(filename, model, checkpoint, self.tolerated_keys)
        _load_checkpoint_to_model(
            model, checkpoint, strict, revise_keys=list(revise_keys)
        )
        # Runner's own flag that load_or_resume reads; no public setter.
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
