from .hooks import CAKESSearchHook, FiniteLossHook

__all__ = ['CAKESSearchHook', 'FiniteLossHook']
