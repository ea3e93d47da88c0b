"""mmengine's checkpoint hook, with writes that a kill cannot tear."""

import os.path as osp
import tempfile

from mmaction.registry import HOOKS
from mmengine.hooks import CheckpointHook

from ... import fileio

#: The file in the work dir that names the newest checkpoint (mmengine's
#: name; ``--resume`` without a file reads it).
LAST_CHECKPOINT = 'last_checkpoint'


class StagedWorkDir:
    """A runner whose ``work_dir`` is a staging folder, made on first use;
    everything else is the runner's own.

    Args:
        runner (Runner): The runner.
    """

    def __init__(self, runner) -> None:
        self.runner = runner
        self.staging = None

    @property
    def work_dir(self) -> str:
        """The staging folder (made when first asked for)."""
        if self.staging is None:
            self.staging = tempfile.TemporaryDirectory()
        return self.staging.name

    def __getattr__(self, name: str):
        return getattr(self.runner, name)

    def publish(self) -> None:
        """Move a ``last_checkpoint`` written to the staging folder into
        the runner's work dir atomically, and remove the staging folder."""
        if self.staging is None:
            return
        with self.staging as staging:
            staged = osp.join(staging, LAST_CHECKPOINT)
            if osp.isfile(staged):  # only the main process writes it
                with open(staged) as file:
                    record = file.read()
                fileio.atomic_write(
                    osp.join(self.runner.work_dir, LAST_CHECKPOINT), record
                )


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

    mmengine records ``last_checkpoint`` inside the same private step that
    saves, so this hook wraps the three public hook methods that can save
    (after a training iteration, a training epoch and a validation epoch):
    each runs mmengine's own code with the runner's ``work_dir`` shown as a
    staging folder, where mmengine writes ``last_checkpoint``, which is then
    published into the work dir with :func:`~cakes_mm.fileio.atomic_write`.
    No private method of mmengine's is overridden or replaced.

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

    def after_train_iter(self, runner, *args, **kwargs) -> None:
        """mmengine's step, with ``last_checkpoint`` published atomically."""
        staged = StagedWorkDir(runner)
        super().after_train_iter(staged, *args, **kwargs)
        staged.publish()

    def after_train_epoch(self, runner) -> None:
        """mmengine's step, with ``last_checkpoint`` published atomically."""
        staged = StagedWorkDir(runner)
        super().after_train_epoch(staged)
        staged.publish()

    def after_val_epoch(self, runner, *args, **kwargs) -> None:
        """mmengine's step, with ``last_checkpoint`` published atomically."""
        staged = StagedWorkDir(runner)
        super().after_val_epoch(staged, *args, **kwargs)
        staged.publish()
