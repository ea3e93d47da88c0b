"""Refuse a checkpoint that does not fit the model it is loaded into.

mmengine loads ``load_from``, ``resume`` and test checkpoints with
``strict=False``, which only warns about missing, unexpected or differently
shaped keys: a checkpoint of another depth or arch would then run on partly
random weights. :class:`~cakes_mm.engine.CheckedRunner` (our base runtime
config's runner) uses :func:`check_fit`, which stops such a load naming the
file, the first key that does not fit and both shapes;
:func:`check_checkpoints_fit` installs the same check in mmengine's Runner
for ``tools/test.py``.
"""

import re
from typing import Dict, Optional, Sequence

import torch

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
    return {
        re.sub(r'^module\.', '', key): value
        for key, value in checkpoint.items()
        if torch.is_tensor(value)
    }


def shape_text(tensor: torch.Tensor) -> str:
    """``(8, 8, 3, 3, 3)``."""
    return str(tuple(tensor.shape))


def describe_mismatch(
    model_state: Dict[str, torch.Tensor],
    checkpoint_state: Dict[str, torch.Tensor],
    tolerated: Sequence[str] = (),
) -> Optional[str]:
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
            mismatches.append(
                (
                    'missing',
                    f'{key} is missing from the checkpoint (model '
                    f'shape {shape_text(value)})',
                )
            )
        elif checkpoint_state[key].shape != value.shape:
            mismatches.append(
                (
                    'of another shape',
                    f'{key} has shape {shape_text(checkpoint_state[key])} in the '
                    f'checkpoint but {shape_text(value)} in the model',
                )
            )
    mismatches += [
        (
            'unexpected',
            f'{key} (shape {shape_text(value)}) is in '
            f'the checkpoint but not in the model',
        )
        for key, value in checkpoint_state.items()
        if key not in model_state and not key.startswith(skip)
    ]
    if not mismatches:
        return None
    kinds = [kind for kind, _ in mismatches]
    counts = ', '.join(
        f'{kinds.count(kind)} {kind}'
        for kind in ('missing', 'unexpected', 'of another shape')
    )
    return f'{mismatches[0][1]} (keys that do not fit: {counts})'


def with_state_dict_entry(checkpoint: object) -> object:
    """A checkpoint whose weights sit under ``model`` (and not under
    ``state_dict``), with them moved to ``state_dict``, where mmengine
    reads them; any other checkpoint as it is.

    Args:
        checkpoint (object): What the checkpoint file held.

    Returns:
        object: The checkpoint (a new dict when an entry moved).
    """
    if (
        isinstance(checkpoint, dict)
        and 'state_dict' not in checkpoint
        and isinstance(checkpoint.get('model'), dict)
    ):
        checkpoint = dict(checkpoint)
        checkpoint['state_dict'] = checkpoint.pop('model')
    return checkpoint


def check_fit(
    filename: str,
    model: torch.nn.Module,
    checkpoint: dict,
    tolerated: Sequence[str] = (),
) -> None:
    """Raise :class:`CheckpointMismatchError` if ``checkpoint`` does not fit
    ``model``.

    Args:
        filename (str): The checkpoint's file, for the message.
        model (torch.nn.Module): The model it is loaded into (unwrapped).
        checkpoint (dict): The loaded checkpoint.
        tolerated (Sequence[str]): Key prefixes not compared. Defaults to
            ``()``.
    """
    mismatch = describe_mismatch(
        model.state_dict(), checkpoint_state_dict(checkpoint), tolerated
    )
    if mismatch:
        raise CheckpointMismatchError(
            f'{filename} does not fit the model: {mismatch}. Was it '
            f'written for another depth, arch or op_set?'
        )


def check_checkpoints_fit(tolerated: Sequence[str] = ()) -> None:
    """Make ``Runner.load_checkpoint`` refuse a checkpoint that does not fit.

    mmengine loads ``load_from``, ``resume`` and test checkpoints with
    ``strict=False``, which only warns about missing, unexpected or
    differently shaped keys: a checkpoint of another depth or arch then
    runs on partly random weights. After this call, such a load raises
    :class:`CheckpointMismatchError` naming the file, the first mismatched
    key and both shapes. Checkpoints whose weights sit under ``model``
    (see :func:`checkpoint_state_dict`) are read too. ``tools/test.py``
    calls it; other scripts keep mmengine's behaviour. It replaces
    mmengine's ``Runner.load_checkpoint`` in this process:
    :class:`~cakes_mm.engine.CheckedRunner`, named by our base runtime
    config, does the same without that, and is left alone by it.

    Args:
        tolerated (Sequence[str]): Key prefixes left to mmengine's warnings,
            e.g. ``('cls_head.', )`` to fine-tune to a new class count.
            Defaults to ``()``: every key must fit.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner
    from mmengine.runner import runner as runner_module

    read_file = getattr(
        runner_module._load_checkpoint,
        'reads_file',
        runner_module._load_checkpoint,
    )
    load = getattr(Runner.load_checkpoint, 'loads', Runner.load_checkpoint)

    def read_with_model_entry(filename: str, *args, **kwargs) -> dict:
        """mmengine's reader, then :func:`with_state_dict_entry`."""
        return with_state_dict_entry(read_file(filename, *args, **kwargs))

    def load_checked(runner: Runner, filename: str, *args, **kwargs) -> dict:
        """mmengine's load, then a check that every key fitted."""
        checkpoint = load(runner, filename, *args, **kwargs)
        model = (
            runner.model.module
            if is_model_wrapper(runner.model)
            else runner.model
        )
        check_fit(filename, model, checkpoint, tolerated)
        return checkpoint

    read_with_model_entry.reads_file = read_file
    load_checked.loads = load
    runner_module._load_checkpoint = read_with_model_entry
    Runner.load_checkpoint = load_checked
