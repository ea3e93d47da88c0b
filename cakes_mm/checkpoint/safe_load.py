"""Loading checkpoints safely under torch's ``weights_only=True``.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only tensors,
plain containers and allow-listed classes come back, and nothing in the
file is executed. mmengine 0.10.7's checkpoints also hold a few mmengine and
numpy objects (the message hub's ``HistoryBuffer``), which this module
allow-lists (:func:`mmengine_checkpoint_globals`, applied once by
:mod:`cakes_mm.environment`). :func:`load_local_checkpoint` is the loader
our tools use for checkpoints they read themselves, and
:func:`refusal` words the one-line reason a refused file is given
(:class:`~cakes_mm.engine.CheckedRunner` uses it too).
"""

import os
import pickle
import re
from typing import List, Optional

import numpy as np
import torch

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
            f'may be looked up'
        )
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
    entries = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
        multiarray.scalar,
        *sorted(dtype_classes, key=str),
        (history_buffer_getattr, 'builtins.getattr'),
    ]
    for function in (multiarray._reconstruct, multiarray.scalar):
        entries.append(
            (function, f'numpy.core.multiarray.{function.__name__}')
        )
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


def refusal(filename: str, error: pickle.UnpicklingError) -> str:
    """The one-line message for a checkpoint the unpickler refused.

    Args:
        filename (str): The checkpoint.
        error (pickle.UnpicklingError): What ``torch.load`` raised.

    Returns:
        str: Why it was refused and what to do.
    """
    return (
        f'refused to load {filename}: {unpickling_reason(error)}. A '
        f'checkpoint needs only tensors, plain containers and a few '
        f'mmengine classes; unpickling anything else could run code from '
        f'the file, so checkpoints are loaded with weights_only=True. If '
        f'you trust the file, re-save only its tensors (its state_dict).'
    )


def load_local_checkpoint(
    filename: str, map_location: Optional[object] = None
) -> object:
    """Load a local checkpoint with ``weights_only=True``, explaining refusals.

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
        return torch.load(
            filename, map_location=map_location, weights_only=True
        )
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(refusal(filename, error)) from None
