"""cakes_mm: CAKES and PmSCn for mmaction2 and 3D networks.

Importing the package registers its models, datasets, hooks and metrics in
mmaction2's registries, its runner in mmengine's, the ``'atomic_local'``
file backend and the ``cakes_mm::`` config scope (one entry in mmengine's
scope table), and applies the two shims the pinned stack needs (documented
in :mod:`cakes_mm.environment`). It replaces nothing of mmengine's,
mmaction2's or torch's; ``docs/environment.md`` lists it all.
"""

from .environment import apply_environment_shims, irrelevant_warnings_hidden

with irrelevant_warnings_hidden():
    apply_environment_shims()
    from .datasets import *  # noqa: F401,F403
    from .engine import *  # noqa: F401,F403
    from .models import *  # noqa: F401,F403
    from .registry import register_config_scope

    # The volumetric metrics need MONAI (the "volumetric" extra); without
    # it the rest of the package still imports.
    try:
        from .evaluation import *  # noqa: F401,F403
    except ModuleNotFoundError as error:
        if error.name.split('.')[0] != 'monai':
            raise

register_config_scope()

from .version import __version__  # noqa: E402,F401
