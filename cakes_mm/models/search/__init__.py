"""Everything the CAKES one-shot search needs, for any network: the
searched conv with its per-(op, channel) norm, deriving, the model's search
state, the path generator, the cost lasso and the fixed subnet."""

from .derive import DERIVE_MODES, derive_mask, mask_to_choice
from .lasso import CostLasso, cost_lasso
from .mutator import (
    draw_paths_before_calls,
    dump_chosen,
    fix_chosen,
    is_frozen,
    search_layers,
    set_derive,
    share_path_generator,
)
from .paths import sample_paths
from .search_conv import SEARCH_MODES, CAKESSearchConv3d
from .subnet import fixed_subnet, subnet_complexity

__all__ = [
    'CAKESSearchConv3d',
    'CostLasso',
    'DERIVE_MODES',
    'SEARCH_MODES',
    'cost_lasso',
    'derive_mask',
    'draw_paths_before_calls',
    'dump_chosen',
    'fix_chosen',
    'fixed_subnet',
    'is_frozen',
    'mask_to_choice',
    'sample_paths',
    'search_layers',
    'set_derive',
    'share_path_generator',
    'subnet_complexity',
]
