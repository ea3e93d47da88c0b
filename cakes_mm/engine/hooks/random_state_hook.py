"""Save the random number generators with each checkpoint; restore them on
resume."""

import random
from typing import Optional

import numpy as np
import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook

#: The checkpoint key that holds the generator states.
CHECKPOINT_KEY = 'random_state'


def get_random_state() -> dict:
    """The states of Python's, numpy's and torch's global generators.

    Returns:
        dict: ``python``, ``numpy``, ``torch`` and, with CUDA, ``cuda``;
        only tensors, arrays and plain containers, so the checkpoint still
        loads with ``weights_only=True``.
    """
    version, internal, gauss = random.getstate()
    state = dict(
        python=[version, list(internal), gauss],
        numpy=np.random.get_state(legacy=False),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict) -> None:
    """Restore the generators from :func:`get_random_state`'s result.

    Args:
        state (dict): A saved state. The CUDA part is restored only when
            CUDA is available and the device count matches.
    """
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if (
        cuda is not None
        and torch.cuda.is_available()
        and len(cuda) == torch.cuda.device_count()
    ):
        torch.cuda.set_rng_state_all(cuda)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make ``--resume`` continue the random streams where they stopped.

    mmengine re-seeds a resumed run from the config's seed, so the data
    augmentation (numpy and Python generators when ``num_workers=0``, torch's
    generator for dropout and the DataLoader's worker seeds) draws different
    numbers than the uninterrupted run did. This hook stores the global
    generators' states in every checkpoint and puts them back when training
    resumes, so that an epoch-based run stopped after an epoch and resumed
    ends with the same weights as one that never stopped (with
    ``randomness=dict(seed=..., deterministic=True)``). Loading weights with
    ``load_from`` alone, without resuming, leaves the generators alone.

    Our base runtime config lists it (``default_hooks.random_state``). It
    runs last, after every other hook's ``before_train``.
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self._loaded: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the generators' states in ``checkpoint``."""
        checkpoint[CHECKPOINT_KEY] = get_random_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the loaded states until training starts."""
        self._loaded = checkpoint.get(CHECKPOINT_KEY)

    def before_train(self, runner) -> None:
        """Restore the states if this run resumed from a checkpoint."""
        if self._loaded is not None and runner.iter > 0:
            set_random_state(self._loaded)
            runner.logger.info(
                'Random generators restored from the '
                f'checkpoint of iteration {runner.iter}'
            )
        self._loaded = None
