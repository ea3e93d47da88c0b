from .cakes_search_hook import CAKESSearchHook

__all__ = ['CAKESSearchHook']
