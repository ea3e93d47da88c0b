from .hooks import CAKESSearchHook, FiniteLossHook, RandomStateHook

__all__ = ['CAKESSearchHook', 'FiniteLossHook', 'RandomStateHook']
