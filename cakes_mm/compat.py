"""Environment shims for the pinned mmaction2 1.2.0, mmengine 0.10.7 and torch.

This is the one module of the plugin that patches its environment. It is
imported first by ``cakes_mm/__init__.py``, which applies all four shims:

* :func:`patch_missing_drn`: the wheel's missing ``drn`` package;
* :func:`allow_mmengine_checkpoints`: mmengine checkpoints under torch's
  ``weights_only=True`` default;
* :func:`register_config_scope`: ``cakes_mm::`` base configs;
* :func:`make_checkpoint_writes_atomic`: checkpoints and ``last_checkpoint``
  are never left half-written by a killed run.

The tools also call :func:`check_checkpoints_fit`, which makes a checkpoint
that does not fit the model stop the run.

**The missing ``drn`` package.** The published ``mmaction2==1.2.0`` wheel
does not ship ``mmaction/models/localizers/drn/`` (upstream issue #2714),
yet ``mmaction/models/localizers/__init__.py`` imports ``.drn.drn.DRN``.
Every ``import mmaction.models`` therefore fails, and with it every
``MODELS.build(...)`` of an mmaction2 model. When (and only when) the
folder is missing, :func:`patch_missing_drn` registers a stand-in module
whose ``DRN`` raises a clear error if anyone tries to build it. A wheel that
does ship ``drn`` is left untouched.
"""
import contextlib
import importlib.util
import io
import os
import pickle
import re
import sys
import types
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch

from .fileio import atomic_write

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


# ---------------------------------------------------------------------------
# Atomic checkpoint writes
# ---------------------------------------------------------------------------
def atomic_local_put(backend: object, obj: bytes, filepath: str) -> None:
    """``LocalBackend.put`` with :func:`atomic_write`.

    Args:
        backend (LocalBackend): The backend (unused; a method's ``self``).
        obj (bytes): Data to write.
        filepath (str): Destination file.
    """
    atomic_write(str(filepath), obj)


@contextlib.contextmanager
def open_replacing_on_close(file: str, mode: str = 'r', *args,
                            **kwargs) -> Iterator[io.IOBase]:
    """``open`` for mmengine's checkpoint hook, as a context manager.

    Text opened with mode ``'w'`` is collected and written with
    :func:`atomic_write` when the ``with`` block ends without an error; any
    other mode is plain ``open``.

    Args:
        file (str): Path to open.
        mode (str): As for :func:`open`. Defaults to ``'r'``.
    """
    if mode != 'w':
        with open(file, mode, *args, **kwargs) as opened:
            yield opened
        return
    buffer = io.StringIO()
    yield buffer
    atomic_write(file, buffer.getvalue())


def make_checkpoint_writes_atomic() -> None:
    """Make mmengine write checkpoints and ``last_checkpoint`` atomically.

    mmengine 0.10.7 writes a checkpoint with ``LocalBackend.put`` straight
    into its final path, and ``CheckpointHook`` rewrites ``last_checkpoint``
    with ``open(..., 'w')``. A run killed during either write leaves a
    truncated checkpoint (e.g. a resumed run re-saving ``epoch_2.pth``) or
    an empty ``last_checkpoint``, and ``--resume`` then fails. This replaces
    ``LocalBackend.put`` with :func:`atomic_local_put` and, inside the
    checkpoint hook's module only, ``open`` with
    :func:`open_replacing_on_close` (the module opens no other file for
    writing). Afterwards ``last_checkpoint`` always names a complete file:
    the newest checkpoint whose write and recording both finished. A kill
    between the checkpoint's rename and ``last_checkpoint``'s costs that
    checkpoint; the previous one is resumed.
    """
    from mmengine.fileio.backends import LocalBackend
    from mmengine.hooks import checkpoint_hook
    LocalBackend.put = atomic_local_put
    checkpoint_hook.open = open_replacing_on_close


# ---------------------------------------------------------------------------
# Checkpoints that do not fit the model
# ---------------------------------------------------------------------------
#: Where a checkpoint file may keep its weights, besides at the top level.
STATE_DICT_ENTRIES = ('state_dict', 'model')


class CheckpointMismatchError(ValueError):
    """A checkpoint's tensors do not fit the model it is loaded into."""


def checkpoint_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The weights of a loaded checkpoint file, under the model's names.

    Accepted layouts: weights under ``state_dict`` (mmengine, mmaction2,
    mmpretrain), under ``model`` (torchvision's reference scripts and many
    others), or a bare state dict (``torch.save(model.state_dict())``).
    A ``module.`` prefix (a model saved inside DDP) is removed.

    Args:
        checkpoint (dict): What ``torch.load`` returned.

    Returns:
        dict[str, torch.Tensor]: The tensors by key.
    """
    for entry in STATE_DICT_ENTRIES:
        if isinstance(checkpoint.get(entry), dict):
            checkpoint = checkpoint[entry]
            break
    return {re.sub(r'^module\.', '', key): value
            for key, value in checkpoint.items() if torch.is_tensor(value)}


def shape_text(tensor: torch.Tensor) -> str:
    """``(8, 8, 3, 3, 3)``."""
    return str(tuple(tensor.shape))


def describe_mismatch(model_state: Dict[str, torch.Tensor],
                      checkpoint_state: Dict[str, torch.Tensor],
                      tolerated: Sequence[str] = ()) -> Optional[str]:
    """How a checkpoint fails to fit a model, or None if it fits.

    Args:
        model_state (dict): The model's ``state_dict()``.
        checkpoint_state (dict): From :func:`checkpoint_state_dict`.
        tolerated (Sequence[str]): Key prefixes not compared (e.g.
            ``'cls_head.'`` when fine-tuning to other classes). Defaults to
            ``()``.

    Returns:
        str, optional: The first mismatched key with both shapes (model
        keys in order, then unexpected checkpoint keys) and the counts.
    """
    skip = tuple(tolerated)
    mismatches = []  # (kind, description): model keys in order, then extra
    for key, value in model_state.items():
        if key.startswith(skip):
            continue
        if key not in checkpoint_state:
            mismatches.append((
                'missing', f'{key} is missing from the checkpoint (model '
                f'shape {shape_text(value)})'))
        elif checkpoint_state[key].shape != value.shape:
            mismatches.append((
                'of another shape',
                f'{key} has shape {shape_text(checkpoint_state[key])} in the '
                f'checkpoint but {shape_text(value)} in the model'))
    mismatches += [('unexpected', f'{key} (shape {shape_text(value)}) is in '
                    f'the checkpoint but not in the model')
                   for key, value in checkpoint_state.items()
                   if key not in model_state and not key.startswith(skip)]
    if not mismatches:
        return None
    kinds = [kind for kind, _ in mismatches]
    counts = ', '.join(f'{kinds.count(kind)} {kind}' for kind in
                       ('missing', 'unexpected', 'of another shape'))
    return f'{mismatches[0][1]} (keys that do not fit: {counts})'


def check_checkpoints_fit(tolerated: Sequence[str] = ()) -> None:
    """Make ``Runner.load_checkpoint`` refuse a checkpoint that does not fit.

    mmengine loads ``load_from``, ``resume`` and test checkpoints with
    ``strict=False``, which only warns about missing, unexpected or
    differently shaped keys: a checkpoint of another depth or arch then
    runs on partly random weights. After this call, such a load raises
    :class:`CheckpointMismatchError` naming the file, the first mismatched
    key and both shapes. Checkpoints whose weights sit under ``model``
    (see :func:`checkpoint_state_dict`) are read too. ``tools/train.py``
    and ``tools/test.py`` call it; other scripts keep mmengine's behaviour.

    Args:
        tolerated (Sequence[str]): Key prefixes left to mmengine's warnings,
            e.g. ``('cls_head.', )`` to fine-tune to a new class count.
            Defaults to ``()``: every key must fit.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner
    from mmengine.runner import runner as runner_module
    read_file = getattr(runner_module._load_checkpoint, 'reads_file',
                        runner_module._load_checkpoint)
    load = getattr(Runner.load_checkpoint, 'loads', Runner.load_checkpoint)

    def read_with_model_entry(filename: str, *args, **kwargs) -> dict:
        """mmengine's reader; weights under ``model`` move to
        ``state_dict``."""
        checkpoint = read_file(filename, *args, **kwargs)
        if (isinstance(checkpoint, dict) and 'state_dict' not in checkpoint
                and isinstance(checkpoint.get('model'), dict)):
            checkpoint = dict(checkpoint)
            checkpoint['state_dict'] = checkpoint.pop('model')
        return checkpoint

    def load_checked(runner: Runner, filename: str, *args, **kwargs) -> dict:
        """mmengine's load, then a check that every key fitted."""
        checkpoint = load(runner, filename, *args, **kwargs)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        mismatch = describe_mismatch(model.state_dict(),
                                     checkpoint_state_dict(checkpoint),
                                     tolerated)
        if mismatch:
            raise CheckpointMismatchError(
                f'{filename} does not fit the model: {mismatch}. Was it '
                f'written for another depth, arch or op_set?')
        return checkpoint

    read_with_model_entry.reads_file = read_file
    load_checked.loads = load
    runner_module._load_checkpoint = read_with_model_entry
    Runner.load_checkpoint = load_checked
