"""The two shims the pinned stack needs, applied once by ``import cakes_mm``.

* **The missing ``drn`` package** (:func:`patch_missing_drn`). The published
  ``mmaction2==1.2.0`` wheel does not ship ``mmaction/models/localizers/drn/``
  (upstream issue #2714), yet ``mmaction/models/localizers/__init__.py``
  imports ``.drn.drn.DRN``. Every ``import mmaction.models`` therefore fails,
  and with it every ``MODELS.build(...)`` of an mmaction2 model. When (and
  only when) the folder is missing, a stand-in module is registered whose
  ``DRN`` raises a clear error if anyone tries to build it. A wheel that does
  ship ``drn`` is left untouched.
* **mmengine checkpoints under ``weights_only=True``**
  (:func:`allow_mmengine_checkpoints`). torch >= 2.6 loads with
  ``weights_only=True`` and mmengine 0.10.7 pickles a few of its own classes
  into checkpoints, so ``load_from``, ``--resume`` and testing fail with
  "Unsupported global". Exactly those classes are added to torch's
  allow-list (:func:`~cakes_mm.checkpoint.safe_load.mmengine_checkpoint_globals`);
  ``weights_only`` stays on, so an untrusted pickle never runs code.

Nothing else is changed: mmengine's file backends, checkpoint loaders,
runner and hooks stay its own. Our base runtime config chooses atomic
checkpoint writes (:class:`~cakes_mm.engine.hooks.AtomicCheckpointHook`)
and checked checkpoint loading (:class:`~cakes_mm.engine.CheckedRunner`).

Two warnings of the pinned stack say nothing to a user of ours
(:data:`IRRELEVANT_WARNINGS`). ``import cakes_mm`` hides them while it
imports that stack only (the filters are restored after), and the tools hide
them for their whole run (:func:`silence_irrelevant_warnings`). Two log
lines of mmaction2's video loaders are as irrelevant
(:data:`IRRELEVANT_LOG_MESSAGES`); the runners our tools and demos build drop
them (:func:`hide_irrelevant_log_messages`).
"""

import contextlib
import importlib.util
import logging
import os
import sys
import types
import warnings
from typing import Iterator

import torch

#: Messages of warnings that are irrelevant here: mmcv-lite lacks a CUDA op
#: (MultiScaleDeformableAttention) that nothing of ours uses, and mmengine
#: imports (and reloads) ``pkg_resources``, which setuptools deprecates.
IRRELEVANT_WARNINGS = (
    r'Fail to import ``MultiScaleDeformableAttention``',
    r'pkg_resources is deprecated as an API',
)


def silence_irrelevant_warnings() -> None:
    """Hide :data:`IRRELEVANT_WARNINGS`, and only those, from now on (the
    tools call it first)."""
    for message in IRRELEVANT_WARNINGS:
        warnings.filterwarnings('ignore', message=message)


#: Log lines that are irrelevant here: mmaction2 1.2's ``DecordInit`` and
#: ``OpenCVInit`` still build mmengine's deprecated ``FileClient``, which logs
#: its own deprecation and that of its ``'disk'`` alias at WARNING.
IRRELEVANT_LOG_MESSAGES = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


class IrrelevantLogFilter(logging.Filter):
    """Drop the records whose message holds one of
    :data:`IRRELEVANT_LOG_MESSAGES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in IRRELEVANT_LOG_MESSAGES)


def hide_irrelevant_log_messages(logger: logging.Logger) -> None:
    """Drop :data:`IRRELEVANT_LOG_MESSAGES` from ``logger`` (idempotent).

    Args:
        logger (logging.Logger): A runner's logger, before it builds its
            datasets.
    """
    if not any(isinstance(f, IrrelevantLogFilter) for f in logger.filters):
        logger.addFilter(IrrelevantLogFilter())


@contextlib.contextmanager
def irrelevant_warnings_hidden() -> Iterator[None]:
    """Hide :data:`IRRELEVANT_WARNINGS` inside the ``with`` block only."""
    with warnings.catch_warnings():
        silence_irrelevant_warnings()
        yield


DRN_PACKAGE = 'mmaction.models.localizers.drn'


class MissingDRN:
    """Stand-in for mmaction2's DRN localizer, absent from the wheel."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'DRN is not available: the installed mmaction2 1.2.0 wheel lacks '
            'mmaction/models/localizers/drn (upstream issue #2714). Install '
            'mmaction2 from source to use DRN.'
        )


def drn_on_disk() -> bool:
    """Whether the installed mmaction2 ships ``models/localizers/drn``."""
    # find_spec on a submodule would import mmaction.models, which is what
    # fails; look the file up from the top-level package instead.
    mmaction = importlib.util.find_spec('mmaction')
    return any(
        os.path.isfile(
            os.path.join(folder, 'models', 'localizers', 'drn', 'drn.py')
        )
        for folder in mmaction.submodule_search_locations
    )


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


def allow_mmengine_checkpoints() -> None:
    """Allow-list the classes mmengine pickles into its checkpoints."""
    # Imported here: the checkpoint package imports mmaction2's models,
    # which needs patch_missing_drn() to have run.
    from .checkpoint.safe_load import mmengine_checkpoint_globals

    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def apply_environment_shims() -> None:
    """Apply both shims (idempotent)."""
    patch_missing_drn()
    allow_mmengine_checkpoints()
