"""cakes_mm: CAKES and PmSCn for mmaction2.

Importing the package patches the environment (see :mod:`cakes_mm.compat`)
and registers every model and hook under mmaction2's registries.
"""
from .compat import (allow_mmengine_checkpoints,
                     make_checkpoint_writes_atomic, patch_missing_drn,
                     register_config_scope)

patch_missing_drn()
allow_mmengine_checkpoints()
register_config_scope()
make_checkpoint_writes_atomic()

from .models import *  # noqa: E402,F401,F403
from .datasets import *  # noqa: E402,F401,F403
from .registry import REGISTRIES  # noqa: E402,F401
from .engine import *  # noqa: E402,F401,F403

# The volumetric metrics need MONAI (the "volumetric" extra); without it
# the rest of the package still imports.
try:
    from .evaluation import *  # noqa: E402,F401,F403
except ModuleNotFoundError as error:
    if error.name.split('.')[0] != 'monai':
        raise

__version__ = '0.1.0'
