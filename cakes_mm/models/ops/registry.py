"""The op registry: one entry per op type, each checking its own keys.

An op is written ``dict(type=<name>, **keys)`` everywhere (``op=`` of the
video backbones, the volumetric networks, the conversion wrapper and
:func:`~cakes_mm.models.convert.convert_network`); a bare name
(``op='conv3d'``) is the same as ``dict(type='conv3d')``. :func:`parse_op`
checks a spec against the entry of its type and the types a network takes,
and fails in one line naming the network and the bad key.
"""

from typing import Any, Dict, Iterator, Mapping, Optional, Tuple, Union

import torch.nn as nn

from ...deprecation import warn_deprecated

OpSpec = Union[str, Mapping[str, Any]]

#: Old op names, still accepted with a warning, and their new names.
RENAMED_OPS = {'3d': 'conv3d', '2d': 'conv2d'}


class OpEntry:
    """One op type: its keys, the form checks of its values, and (for the
    ops made by converting a ``conv3d`` network) its conversion.

    A subclass sets ``name``, ``required`` and ``optional`` (its keys
    besides ``type``), ``built`` (True: a network builds it itself; False:
    it converts the convs of a ``conv3d`` network) and ``summary`` (one
    line for docs), and may override :meth:`check` and :meth:`convert`.
    """

    name: str = ''
    required: Tuple[str, ...] = ()
    optional: Tuple[str, ...] = ()
    built: bool = True
    summary: str = ''

    def check(self, spec: Dict[str, Any]) -> None:
        """Check what the keys alone can tell; raise ValueError if wrong.

        Args:
            spec (dict): The op, keys already checked.
        """

    def convert(self, model: nn.Module, spec: Dict[str, Any], **options: Any):
        """Convert the selected convs of ``model`` to this op, in place.

        Args:
            model (nn.Module): The network.
            spec (dict): The op, checked.
            **options: ``include``, ``exclude``, ``input_shape``, ``strict``,
                ``add_norm`` and ``replaces``, as
                :func:`~cakes_mm.models.convert.convert_network` takes them;
                each entry passes on those its conversion uses
                (:func:`conversion_options`).

        Returns:
            ConversionReport: What was replaced.
        """
        raise ValueError(
            f'type={self.name!r} is built, not converted; '
            f'pass it to the constructor'
        )


def conversion_options(options: Dict[str, Any], *names: str) -> Dict[str, Any]:
    """The named conversion options that were given.

    Args:
        options (dict): All the conversion options.
        *names (str): Those one conversion takes.

    Returns:
        dict: ``{name: value}`` for each of ``names`` in ``options``.
    """
    return {name: options[name] for name in names if name in options}


class OpRegistry:
    """Op entries by type name; :meth:`register` is a class decorator."""

    def __init__(self) -> None:
        self._entries: Dict[str, OpEntry] = {}

    def register(self, cls: type) -> type:
        """Register one instance of ``cls`` under ``cls.name``."""
        if cls.name in self._entries:
            raise KeyError(f'op {cls.name!r} is already registered')
        self._entries[cls.name] = cls()
        return cls

    def get(self, name: str) -> OpEntry:
        """The entry of ``name`` (KeyError if none)."""
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def names(self) -> Tuple[str, ...]:
        """Every registered type name, in registration order."""
        return tuple(self._entries)


#: Every op type.
OPS = OpRegistry()


def describe_types(types: Tuple[str, ...]) -> str:
    """``dict(type='conv3d' | 'cakes' | 'pmscn', ...)``."""
    return f'dict(type={" | ".join(repr(t) for t in types)}, ...)'


def format_op(spec: Mapping[str, Any]) -> str:
    """A spec as it is written in a config: ``dict(type='pmscn', m=2)``."""
    keys = ', '.join(f'{key}={value!r}' for key, value in spec.items())
    return f'dict({keys})'


def parse_op(
    op: OpSpec, network: str, types: Optional[Tuple[str, ...]] = None
) -> Dict[str, Any]:
    """Check the form of an ``op`` argument; values are checked later.

    Args:
        op (str | dict): ``dict(type=..., ...)`` or a bare type name. The
            old names ``'3d'`` and ``'2d'`` warn and become ``'conv3d'``
            and ``'conv2d'``.
        network (str): The network's name, for messages.
        types (tuple[str, ...], optional): The op types the network
            accepts. Defaults to every registered one.

    Returns:
        dict: ``op`` as a dict with its (new) ``type``.

    Raises:
        ValueError: One line naming the network, ``op`` and what is wrong.
    """
    types = tuple(types or OPS.names())
    where = f'{network}: op={op!r}'
    if isinstance(op, str):
        spec = dict(type=op)
    elif isinstance(op, Mapping):
        spec = dict(op)
    else:
        raise ValueError(f'{where} must be {describe_types(types)}')
    kind = spec.get('type')
    if isinstance(kind, str) and kind in RENAMED_OPS:
        spec['type'] = RENAMED_OPS[kind]
        warn_deprecated(
            f'{network}: op type {kind!r} is deprecated; use '
            f'op={format_op(spec)}'
        )
        kind = spec['type']
    if kind not in types or kind not in OPS:
        raise ValueError(
            f'{where}: unknown op; {network} takes {describe_types(types)}'
        )
    entry = OPS.get(kind)
    keys = set(spec) - {'type'}
    missing = [key for key in entry.required if key not in keys]
    unknown = sorted(keys - set(entry.required) - set(entry.optional))
    problems = ([f'missing {", ".join(missing)}'] if missing else []) + (
        [f'unknown key(s) {", ".join(unknown)}'] if unknown else []
    )
    if problems:
        takes = ', '.join(entry.required + entry.optional) or 'no keys'
        raise ValueError(
            f'{where}: {"; ".join(problems)}; type={kind!r} takes {takes}'
        )
    try:
        entry.check(spec)
    except ValueError as error:
        raise ValueError(f'{where}: {error}') from None
    return spec
