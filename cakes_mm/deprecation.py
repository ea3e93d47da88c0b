"""Deprecated spellings: one warning class and the helpers that map an old
argument onto its new form.

Every old spelling still accepted (for one release) warns with
:class:`CAKESDeprecationWarning`, whose message names the new form; the
shipped configs use none, which a test checks by turning this warning
into an error.
"""

import warnings
from typing import Any

#: Marks "no value given", where None is a value.
UNSET: Any = type('Unset', (), {'__repr__': lambda self: 'UNSET'})()


class CAKESDeprecationWarning(DeprecationWarning):
    """An old spelling of a cakes_mm argument or op; the message names the
    new one."""


def warn_deprecated(message: str, stacklevel: int = 3) -> None:
    """Warn once per call site that ``message`` (old → new) applies.

    Args:
        message (str): What to use instead, e.g. ``"UNet3D: upsample= is
            deprecated; use upsample_mode="``.
        stacklevel (int): As for :func:`warnings.warn`. Defaults to 3 (the
            caller's caller).
    """
    warnings.warn(message, CAKESDeprecationWarning, stacklevel=stacklevel)


def renamed_argument(
    owner: str,
    old: str,
    old_value: Any,
    new: str,
    new_value: Any,
    stacklevel: int = 4,
) -> Any:
    """The value of an argument renamed from ``old`` to ``new``.

    Args:
        owner (str): The class or function, for messages.
        old (str): The old name.
        old_value: What was passed under the old name (``UNSET`` if
            nothing).
        new (str): The new name.
        new_value: The value under the new name (its default if not given).
        stacklevel (int): As for :func:`warnings.warn`. Defaults to 4 (the
            caller of the function that takes the argument).

    Returns:
        The old value (with a warning) when it was given, else the new one.
    """
    if old_value is UNSET:
        return new_value
    warn_deprecated(f'{owner}: {old}= is deprecated; use {new}=', stacklevel)
    return old_value
