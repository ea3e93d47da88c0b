from .atomic_checkpoint_hook import AtomicCheckpointHook
from .cakes_search_hook import CAKESSearchHook
from .dump_arch_hook import DumpArchHook
from .estimate_resources_hook import EstimateResourcesHook
from .finite_loss_hook import FiniteLossHook
from .freeze_subnet_hook import FreezeSubnetHook
from .log_arch_hook import LogArchHook
from .random_state_hook import RandomStateHook
from .search_path_hook import SearchPathHook

__all__ = [
    'AtomicCheckpointHook',
    'CAKESSearchHook',
    'DumpArchHook',
    'EstimateResourcesHook',
    'FiniteLossHook',
    'FreezeSubnetHook',
    'LogArchHook',
    'RandomStateHook',
    'SearchPathHook',
]
