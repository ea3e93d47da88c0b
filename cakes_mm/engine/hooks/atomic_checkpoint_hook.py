"""mmengine's checkpoint hook, with writes that a kill cannot tear."""

import os.path as osp
import tempfile

from mmaction.registry import HOOKS
from mmengine.hooks import CheckpointHook

from ... import fileio

#: The file in the work dir that names the newest checkpoint (mmengine's
#: name; ``--resume`` without a file reads it).
LAST_CHECKPOINT = 'last_checkpoint'


class WorkDirElsewhere:
    """A runner whose ``work_dir`` is another folder; everything else is
    the runner's own.

    Args:
        runner (Runner): The runner.
        work_dir (str): The folder to give as ``work_dir``.
    """

    def __init__(self, runner, work_dir: str) -> None:
        self.runner = runner
        self.work_dir = work_dir

    def __getattr__(self, name: str):
        return getattr(self.runner, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose checkpoints and ``last_checkpoint`` are
    written atomically.

    mmengine writes a checkpoint straight into its final path and rewrites
    ``last_checkpoint`` in place; a run killed during either write leaves a
    truncated file and ``--resume`` fails. This hook writes checkpoints
    through the ``'atomic_local'`` file backend (a temp file, then a rename)
    and publishes ``last_checkpoint`` the same way, so that it always names
    a complete checkpoint: the newest one whose write and recording both
    finished. A kill between the two costs that checkpoint; the previous
    one is resumed. Our base runtime config names it as
    ``default_hooks.checkpoint``.

    mmengine offers no public step between saving a checkpoint and
    recording it, so :meth:`_save_checkpoint_with_step` (mmengine's private
    method that does both) is extended: mmengine's own code runs with the
    runner's ``work_dir`` shown as a staging folder, where it writes
    ``last_checkpoint``, which is then published into the work dir with
    :func:`~cakes_mm.fileio.atomic_write`. Nothing of mmengine's is
    replaced.

    Args:
        *args: ``CheckpointHook``'s arguments.
        backend_args (dict, optional): The file backend. Defaults to
            ``dict(backend='atomic_local')``.
        **kwargs: ``CheckpointHook``'s keyword arguments.
    """

    def __init__(self, *args, backend_args=None, **kwargs) -> None:
        super().__init__(
            *args,
            backend_args=backend_args or dict(backend='atomic_local'),
            **kwargs,
        )

    def _save_checkpoint_with_step(self, runner, step, meta):
        """Save as mmengine does, then publish ``last_checkpoint``
        atomically (see the class docstring)."""
        with tempfile.TemporaryDirectory() as staging:
            super()._save_checkpoint_with_step(
                WorkDirElsewhere(runner, staging), step, meta
            )
            staged = osp.join(staging, LAST_CHECKPOINT)
            if osp.isfile(staged):  # only the main process writes it
                with open(staged) as file:
                    record = file.read()
                fileio.atomic_write(
                    osp.join(runner.work_dir, LAST_CHECKPOINT), record
                )
