"""Deriving an architecture from the path weights α (paper Eq. 12)."""

from typing import Dict, Sequence, Tuple

import torch

DERIVE_MODES = ('argmax', 'topk')


def check_choice(value: str, allowed: Tuple[str, ...], what: str) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise.

    Args:
        value (str): The given value.
        allowed (tuple[str]): The accepted values.
        what (str): What the value is, for the message.

    Returns:
        str: ``value``.
    """
    if value not in allowed:
        raise ValueError(f'{what} must be one of {allowed}, got {value!r}')
    return value


def derive_mask(alpha: torch.Tensor, derive: str = 'argmax') -> torch.Tensor:
    """The (op, channel) pairs a derivation keeps.

    Args:
        alpha (torch.Tensor): Path weights of shape (num_ops, C_out).
        derive (str): ``'argmax'``: each channel keeps its largest-α op
            (paper Eq. 12). ``'topk'``: the C_out largest α over all pairs
            (the authors' public code). Defaults to ``'argmax'``.

    Returns:
        torch.Tensor: A bool mask of shape (num_ops, C_out).
    """
    check_choice(derive, DERIVE_MODES, 'derive')
    # A compiled graph cannot branch on values; the export checks again.
    if not torch.compiler.is_compiling() and not torch.isfinite(alpha).all():
        raise ValueError(
            'cannot derive an architecture: the path weights '
            '(|norm scale|) contain NaN or inf'
        )
    num_ops, channels = alpha.shape
    mask = torch.zeros(
        num_ops, channels, dtype=torch.bool, device=alpha.device
    )
    if derive == 'argmax':
        mask[alpha.argmax(dim=0), torch.arange(channels)] = True
    else:
        order = torch.argsort(alpha.flatten(), descending=True, stable=True)
        mask.view(-1)[order[:channels]] = True
    return mask


def mask_to_choice(
    mask: torch.Tensor, op_set: Sequence[str]
) -> Dict[str, int]:
    """Channel counts per op of a mask, in op-set order, as plain ints.

    Args:
        mask (torch.Tensor): A bool (num_ops, C_out) mask.
        op_set (Sequence[str]): The op of each row.

    Returns:
        dict[str, int]: One arch-format entry.
    """
    return {name: int(n) for name, n in zip(op_set, mask.sum(dim=1))}
