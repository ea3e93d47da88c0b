"""Atomic file writes: a file the plugin writes is never half-written.

:func:`atomic_write` is used for every file the plugin writes itself (arch
JSON, annotation lists, metafiles, tables). Checkpoints opt in through
configs: the file backend ``'atomic_local'`` (:class:`AtomicLocalBackend`)
writes through it, and :class:`~cakes_mm.engine.hooks.AtomicCheckpointHook`
uses that backend and also publishes ``last_checkpoint`` atomically. Nothing
of mmengine's own is changed.
"""

import glob
import os
import tempfile
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


def atomic_write(path: str, data: Union[bytes, str]) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never half-written.

    The data goes to a hidden temp file beside ``path``
    (``.<name>.<random>.tmp``), is flushed to disk, and then replaces
    ``path`` in one rename. A process killed at any moment leaves either the
    old file or the new one. A temp file that a killed write left behind is
    removed by the next write to the same path.

    Args:
        path (str): Destination file; its folder is created if needed.
        data (bytes | str): The content; a str is written as UTF-8.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    prefix = f'.{os.path.basename(path)}.'
    for leftover in glob.glob(
        os.path.join(glob.escape(folder), glob.escape(prefix) + '*.tmp')
    ):
        os.remove(leftover)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix='.tmp')
    try:
        with os.fdopen(handle, 'wb') as file:
            file.write(data.encode('utf-8') if isinstance(data, str) else data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, with atomic ``put``.

    Select it with ``backend_args=dict(backend='atomic_local')``.
    """

    def put(self, obj: bytes, filepath: str) -> None:
        """Write ``obj`` to ``filepath`` with :func:`atomic_write`.

        Args:
            obj (bytes): Data to write.
            filepath (str): Destination file.
        """
        atomic_write(str(filepath), obj)
