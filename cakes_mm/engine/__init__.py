from .hooks import CAKESSearchHook

__all__ = ['CAKESSearchHook']
