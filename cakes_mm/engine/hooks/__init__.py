from .atomic_checkpoint_hook import AtomicCheckpointHook
from .cakes_search_hook import CAKESSearchHook
from .finite_loss_hook import FiniteLossHook
from .random_state_hook import RandomStateHook

__all__ = [
    'AtomicCheckpointHook',
    'CAKESSearchHook',
    'FiniteLossHook',
    'RandomStateHook',
]
