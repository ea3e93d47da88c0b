from .cakes_search_hook import CAKESSearchHook
from .finite_loss_hook import FiniteLossHook

__all__ = ['CAKESSearchHook', 'FiniteLossHook']
