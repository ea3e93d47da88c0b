"""cakes_mm: CAKES and PmSCn for mmaction2.

Importing the package patches the environment (see :mod:`cakes_mm.compat`)
and registers every model and hook under mmaction2's registries.
"""
from .compat import patch_missing_drn

patch_missing_drn()

from .models import *  # noqa: E402,F401,F403

__version__ = '0.1.0'
