from .hooks import CAKESSearchHook, FiniteLossHook, RandomStateHook
from .optimizers import CPUAmpOptimWrapper
from .runner import CheckedRunner

__all__ = [
    'CAKESSearchHook',
    'CheckedRunner',
    'CPUAmpOptimWrapper',
    'FiniteLossHook',
    'RandomStateHook',
]
