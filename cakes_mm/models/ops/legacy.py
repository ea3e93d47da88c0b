"""The old keyword forms of the op (``arch=``, ``op_set=``, ``pmscn=``,
``m=``/``n=``, ``mode=``, ``derive=``, ``search=``), mapped onto ``op=``
with a warning naming the new form. Kept for one release."""

from typing import Any, Dict, Mapping, Optional

from ...deprecation import UNSET, warn_deprecated
from .registry import OpSpec, format_op


def from_old_keywords(
    owner: str,
    op: Optional[OpSpec],
    old: Mapping[str, Any],
    spec: Optional[Dict[str, Any]],
) -> Optional[OpSpec]:
    """``op``, or the spec the old keywords stand for, with a warning.

    Args:
        owner (str): The class, for messages.
        op (str | dict, optional): What was passed as ``op=``.
        old (Mapping[str, Any]): The old keywords as passed (``UNSET`` for
            those not given).
        spec (dict, optional): The op the given old keywords stand for.

    Returns:
        str | dict | None: ``op`` when no old keyword was given; else
        ``spec``, laid over ``op`` when both have the same type (so that an
        old ``--cfg-options model.backbone.arch=...`` still overrides a
        config written with ``op=``).
    """
    given = [key for key, value in old.items() if value is not UNSET]
    if not given:
        return op
    if op is not None:
        base = dict(type=op) if isinstance(op, str) else dict(op)
        if base.get('type') == spec.get('type'):
            spec = {**base, **spec}
    names = ', '.join(f'{key}=' for key in given)
    warn_deprecated(
        f'{owner}: {names} is deprecated; use op={format_op(spec)}', 4
    )
    return spec
