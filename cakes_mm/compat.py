"""Environment shims for the pinned mmaction2 1.2.0 wheel.

This is the one module of the plugin that patches its environment. It is
imported first by ``cakes_mm/__init__.py``.

**The missing ``drn`` package.** The published ``mmaction2==1.2.0`` wheel
does not ship ``mmaction/models/localizers/drn/`` (upstream issue #2714),
yet ``mmaction/models/localizers/__init__.py`` imports ``.drn.drn.DRN``.
Every ``import mmaction.models`` therefore fails, and with it every
``MODELS.build(...)`` of an mmaction2 model. When (and only when) the
folder is missing, :func:`patch_missing_drn` registers a stand-in module
whose ``DRN`` raises a clear error if anyone tries to build it. A wheel that
does ship ``drn`` is left untouched.
"""
import importlib.util
import os
import sys
import types

DRN_PACKAGE = 'mmaction.models.localizers.drn'


class MissingDRN:
    """Stand-in for mmaction2's DRN localizer, absent from the wheel."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'DRN is not available: the installed mmaction2 1.2.0 wheel lacks '
            'mmaction/models/localizers/drn (upstream issue #2714). Install '
            'mmaction2 from source to use DRN.')


def drn_on_disk() -> bool:
    """Whether the installed mmaction2 ships ``models/localizers/drn``."""
    # find_spec on a submodule would import mmaction.models, which is what
    # fails; look the file up from the top-level package instead.
    mmaction = importlib.util.find_spec('mmaction')
    return any(
        os.path.isfile(
            os.path.join(folder, 'models', 'localizers', 'drn', 'drn.py'))
        for folder in mmaction.submodule_search_locations)


def patch_missing_drn() -> bool:
    """Register a stand-in ``drn`` package if the wheel lacks it.

    Returns:
        bool: True if the stand-in was installed, False if nothing was needed.
    """
    if DRN_PACKAGE in sys.modules or drn_on_disk():
        return False
    package = types.ModuleType(DRN_PACKAGE)
    package.__path__ = []
    module = types.ModuleType(f'{DRN_PACKAGE}.drn')
    module.DRN = MissingDRN
    package.drn = module
    sys.modules[DRN_PACKAGE] = package
    sys.modules[f'{DRN_PACKAGE}.drn'] = module
    return True
