from .hooks import CAKESSearchHook, FiniteLossHook, RandomStateHook
from .optimizers import CPUAmpOptimWrapper

__all__ = [
    'CAKESSearchHook',
    'CPUAmpOptimWrapper',
    'FiniteLossHook',
    'RandomStateHook',
]
