"""Refuse a checkpoint that does not fit the model it is loaded into.

mmengine loads ``load_from``, ``resume`` and test checkpoints with
``strict=False``, which only warns about missing, unexpected or differently
shaped keys: a checkpoint of another depth or arch would then run on partly
random weights. :class:`~cakes_mm.engine.CheckedRunner` (our base runtime
config's runner) uses :func:`check_fit`, which stops such a load naming the
file, the first key that does not fit and both shapes.
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
