"""Environment shims for the pinned mmaction2 1.2.0, mmengine 0.10.7 and torch.

This is the one module of the plugin that patches its environment. It is
imported first by ``cakes_mm/__init__.py``, which applies all three shims:

* :func:`patch_missing_drn`: the wheel's missing ``drn`` package;
* :func:`allow_mmengine_checkpoints`: mmengine checkpoints under torch's
  ``weights_only=True`` default;
* :func:`register_config_scope`: ``cakes_mm::`` base configs.

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
import pickle
import re
import sys
import types
from typing import List, Optional

import numpy as np
import torch

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


# ---------------------------------------------------------------------------
# Checkpoints on torch >= 2.6
# ---------------------------------------------------------------------------
#: The statistics a pickled ``HistoryBuffer`` refers to by name.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allow-list."""


def history_buffer_getattr(owner: object, name: str) -> object:
    """``getattr``, as far as mmengine's checkpoints need it.

    A pickled ``HistoryBuffer`` stores its statistics methods as
    ``getattr(HistoryBuffer, 'mean')`` and so on. The checkpoint's
    ``builtins.getattr`` resolves to this function, which allows exactly
    those lookups and nothing else.

    Args:
        owner (object): The object the pickle looks an attribute up on.
        name (str): The attribute name.

    Returns:
        object: The statistics method.
    """
    from mmengine.logging import HistoryBuffer
    if owner is not HistoryBuffer or name not in HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f'getattr({owner!r}, {name!r}) is not allowed: only the '
            f'HistoryBuffer statistics {", ".join(HISTORY_BUFFER_STATISTICS)} '
            f'may be looked up')
    return getattr(owner, name)


def mmengine_checkpoint_globals() -> List[object]:
    """The globals, beyond torch's defaults, that mmengine checkpoints hold.

    Found by saving a checkpoint with mmengine 0.10.7 and listing
    ``torch.serialization.get_unsafe_globals_in_checkpoint``: the message
    hub's ``HistoryBuffer`` objects, the numpy arrays and scalars inside them
    (with the dtype classes numpy 2 pickles), and ``getattr`` for the
    buffer's statistics methods, narrowed to :func:`history_buffer_getattr`.
    numpy 1.x names (``numpy.core``) are mapped too, for older checkpoints.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``.
    """
    from mmengine.logging import HistoryBuffer
    multiarray = np._core.multiarray
    dtype_classes = {type(np.dtype(kind)) for kind in '?bhilqBHILQefdgFDG'}
    entries = [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct,
               multiarray.scalar, *sorted(dtype_classes, key=str),
               (history_buffer_getattr, 'builtins.getattr')]
    for function in (multiarray._reconstruct, multiarray.scalar):
        entries.append(
            (function, f'numpy.core.multiarray.{function.__name__}'))
    return entries


def unpickling_reason(error: pickle.UnpicklingError) -> str:
    """What torch's weights-only unpickler refused, in a few words.

    Args:
        error (pickle.UnpicklingError): The error ``torch.load`` raised.

    Returns:
        str: e.g. ``"it references builtins.exec"``.
    """
    text = str(error)
    found = re.search(r'GLOBAL (\S+?)(?: was| whose|\s|$)', text)
    if found:
        return f'it references {found.group(1)}, which is not allowed'
    detail = text.split('WeightsUnpickler error:', 1)[-1]
    detail = ' '.join(detail.split('Check the documentation')[0].split())
    return detail.split('. Please')[0] or 'unknown reason'


def load_local_checkpoint(filename: str,
                          map_location: Optional[object] = None) -> object:
    """Load a local checkpoint with ``weights_only=True``, explaining refusals.

    Registered as mmengine's loader for local paths, so ``load_from``,
    ``resume`` and ``tools/test.py`` all come through here.

    Args:
        filename (str): Path to the checkpoint.
        map_location (object, optional): As for :func:`torch.load`.
            Defaults to None.

    Returns:
        object: The loaded checkpoint.

    Raises:
        UnsafeCheckpointError: When the file holds pickled objects outside
            the allow-list; nothing from the file is executed.
    """
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f'refused to load {filename}: {unpickling_reason(error)}. A '
            f'checkpoint needs only tensors, plain containers and a few '
            f'mmengine classes; unpickling anything else could run code from '
            f'the file, so checkpoints are loaded with weights_only=True. If '
            f'you trust the file, re-save only its tensors (its state_dict).'
        ) from None


def allow_mmengine_checkpoints() -> None:
    """Make mmengine checkpoints load with ``weights_only=True``.

    Allow-lists :func:`mmengine_checkpoint_globals` and registers
    :func:`load_local_checkpoint` for local paths in mmengine's
    ``CheckpointLoader``. ``weights_only`` stays on.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_local_checkpoint)


# ---------------------------------------------------------------------------
# The ``cakes_mm::`` config scope
# ---------------------------------------------------------------------------
SCOPE = 'cakes_mm'
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def register_config_scope() -> None:
    """Let mmengine resolve ``_base_ = ['cakes_mm::family/config.py']``.

    mmengine resolves ``scope::path`` only for the packages listed in its
    ``MODULE2PACKAGE``, and finds a package's ``.mim`` folder from its
    distribution's location, which for an editable install is
    site-packages rather than the source tree. This adds ``cakes_mm`` to the
    list and answers the location lookup for ``cakes_mm`` with this package's
    folder, whichever way it was installed. Other packages are looked up as
    before. The configs must be parsed after ``import cakes_mm``, as
    ``tools/train.py`` and ``tools/test.py`` do.
    """
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault(SCOPE, SCOPE)
    lookup = config_module.get_installed_path
    if getattr(lookup, 'answers_cakes_mm', False):
        return

    def get_installed_path(package: str) -> str:
        """mmengine's lookup, with this folder as the answer for cakes_mm."""
        return PACKAGE_DIR if package == SCOPE else lookup(package)

    get_installed_path.answers_cakes_mm = True
    config_module.get_installed_path = get_installed_path
