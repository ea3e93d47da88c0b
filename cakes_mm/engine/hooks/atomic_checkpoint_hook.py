"""mmengine's checkpoint hook, with writes that a kill cannot tear."""

from unittest import mock

from mmaction.registry import HOOKS
from mmengine.hooks import CheckpointHook
from mmengine.hooks import checkpoint_hook as checkpoint_hook_module

from ...fileio import open_replacing_on_close


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
        """Save as mmengine does, with ``last_checkpoint`` written through
        :func:`~cakes_mm.fileio.open_replacing_on_close` (for this call
        only; mmengine's module is left as it was)."""
        with mock.patch.object(
            checkpoint_hook_module,
            'open',
            open_replacing_on_close,
            create=True,
        ):
            super()._save_checkpoint_with_step(runner, step, meta)
