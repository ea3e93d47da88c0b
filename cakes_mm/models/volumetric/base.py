"""What the volumetric networks share: MONAI's calling convention and the
``op`` argument, which picks the operation of their replaceable convs.

``op`` takes one of these forms (a network accepts a subset, see its
``OP_TYPES``):

* ``'3d'``: plain k x k x k convs;
* ``'2d'``: 3x3x1 convs (one orientation), ``'p3d'``: 3x3x1 then 1x1x3
  with nothing between; built by the network itself;
* ``dict(type='cakes', arch=...)`` (an arch list, a JSON file of one, or
  ``'uniform'`` with ``op_set``) or ``dict(type='cakes', op_set=[...])``:
  fixed CAKES convs, uniform over ``op_set`` when no arch is given;
* ``dict(type='cakes_search', op_set=[...], mode='performance' | 'cost',
  derive='argmax' | 'topk')``: a CAKES search supernet;
* ``dict(type='pmscn', m=..., n=...)``: PmSCn units.

The dict forms are made the way any network is brought to CAKES or PmSCn:
the network is built with ``'3d'`` convs and its replaceable convs are
converted (:mod:`cakes_mm.models.convert`), so trained 3D weights carry
over. :meth:`VolumetricNet.apply_op` does that on a built ``'3d'`` network,
e.g. after loading its checkpoint.
"""

from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch.nn as nn

from ..convert import (
    ConversionReport,
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
)
from ..layers.pmscn import switch_pmscn_to_deploy

OpSpec = Union[str, Mapping[str, Any]]

#: The ops a network builds itself, by name.
BUILT_OPS = ('3d', '2d', 'p3d')

#: The dict forms: (required keys, optional keys).
CONVERTED_OPS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    'cakes': ((), ('arch', 'op_set')),
    'cakes_search': (('op_set',), ('mode', 'derive')),
    'pmscn': (('m', 'n'), ()),
}


def describe_types(types: Tuple[str, ...]) -> str:
    """``'3d', '2d' or dict(type='cakes' | 'pmscn', ...)``."""
    names = [f"'{t}'" for t in types if t in BUILT_OPS]
    dicts = [f"'{t}'" for t in types if t in CONVERTED_OPS]
    forms = ', '.join(names)
    if dicts:
        forms += (
            f'{" or " if names else ""}dict(type={" | ".join(dicts)}, ...)'
        )
    return forms


def parse_op(
    op: OpSpec, network: str, types: Tuple[str, ...]
) -> Dict[str, Any]:
    """Check the form of an ``op`` argument; values are checked later.

    Args:
        op (str | dict): The ``op`` argument.
        network (str): The network's name, for messages.
        types (tuple[str, ...]): The op types the network accepts.

    Returns:
        dict: ``op`` as a dict with its ``type``.

    Raises:
        ValueError: One line naming ``op`` and the accepted forms.
    """
    where = f'{network}: op={op!r}'
    if isinstance(op, str):
        spec = dict(type=op)
    elif isinstance(op, Mapping):
        spec = dict(op)
    else:
        raise ValueError(f'{where} must be {describe_types(types)}')
    kind = spec.get('type')
    if kind not in types:
        raise ValueError(
            f'{where}: unknown op; {network} takes {describe_types(types)}'
        )
    required, optional = CONVERTED_OPS.get(kind, ((), ()))
    keys = set(spec) - {'type'}
    missing = [key for key in required if key not in keys]
    unknown = sorted(keys - set(required) - set(optional))
    problems = ([f'missing {", ".join(missing)}'] if missing else []) + (
        [f'unknown key(s) {", ".join(unknown)}'] if unknown else []
    )
    if problems:
        raise ValueError(
            f'{where}: {"; ".join(problems)}; type={kind!r} '
            f'takes {", ".join(required + optional)}'
        )
    if kind == 'cakes' and not keys:
        raise ValueError(
            f"{where}: type='cakes' needs arch=[...] (a list, "
            f'a JSON file or a released name) or '
            f'op_set=[...] (a uniform split)'
        )
    return spec


def check_spatial_dims(spatial_dims: int, network: str) -> None:
    """Refuse anything but 3 spatial dimensions.

    Args:
        spatial_dims (int): MONAI's ``spatial_dims`` argument.
        network (str): The network's name, for the message.
    """
    if spatial_dims != 3:
        raise ValueError(
            f'{network}: spatial_dims={spatial_dims!r}; only '
            f'3D volumes (spatial_dims=3) are supported'
        )


class VolumetricNet(nn.Module):
    """Base of the volumetric networks: MONAI's arguments and ``op``.

    A subclass sets ``OP_TYPES`` (the ops it takes), ``OP_CONVS`` (a regular
    expression matching the names of its replaceable convs), ``PAIRED_CONVS``
    (whether those convs come in consecutive pairs, which PmSCn with n >= 2
    replaces together, or stand alone, each replaced by a unit of n 2D
    convs); its constructor sets ``self.min_size`` (the factor its input
    size must be a multiple of), builds the network with ``self.built_op``
    convs and ends with :meth:`finish_op`, which makes the conversion a
    dict ``op`` asks for.

    Args:
        spatial_dims (int): Must be 3.
        in_channels (int): Input channels.
        out_channels (int): Output channels (classes).
        op (str | dict): See the module docstring.
    """

    OP_TYPES: Tuple[str, ...] = ('3d',)
    OP_CONVS: str = ''
    PAIRED_CONVS: bool = True

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        op: OpSpec,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        spec = parse_op(op, name, self.OP_TYPES)
        self.in_channels = in_channels
        self.out_channels = out_channels
        built = spec['type'] in BUILT_OPS
        #: The op the network's convs are built with.
        self.built_op: str = spec['type'] if built else '3d'
        #: The conversion :meth:`apply_op` still has to make, if any.
        self.pending_op: Optional[Dict[str, Any]] = None if built else spec
        #: The op the network has now.
        self.op: Dict[str, Any] = dict(type=self.built_op)
        #: The factor each input size must be a multiple of.
        self.min_size = 1
        #: What the conversion replaced, if one was made.
        self.report: Optional[ConversionReport] = None

    def finish_op(self) -> None:
        """Apply the op the constructor was given, if it is a conversion."""
        if self.pending_op is not None:
            self.apply_op(self.pending_op)
            self.pending_op = None

    def apply_op(self, op: OpSpec) -> ConversionReport:
        """Convert the replaceable convs of this ``'3d'`` network, in place.

        Trained weights carry over (CAKES shrinks them; PmSCn starts fresh),
        so a trained 3D network can be loaded first, then converted.

        Args:
            op (str | dict): A dict form of ``op``.

        Returns:
            ConversionReport: What was replaced.
        """
        name = type(self).__name__
        spec = parse_op(op, name, self.OP_TYPES)
        if spec['type'] in BUILT_OPS:
            raise ValueError(
                f'{name}: op={op!r} is built, not converted; '
                f'pass it to the constructor'
            )
        if self.op['type'] != '3d':
            raise ValueError(
                f'{name}: apply_op converts a network built '
                f"with op='3d'; this one has op={self.op!r}"
            )
        try:
            self.report = self.convert(spec)
        except (ValueError, FileNotFoundError) as error:
            raise type(error)(f'{name}: op={op!r}: {error}') from None
        self.op = spec
        return self.report

    def switch_to_deploy(self) -> None:
        """Fold the batch norms inside this network's PmSCn units into their
        2D convs (``op=dict(type='pmscn', ...)`` only; see
        :func:`~cakes_mm.models.layers.pmscn.switch_pmscn_to_deploy`)."""
        switch_pmscn_to_deploy(self)

    def convert(self, spec: Dict[str, Any]) -> ConversionReport:
        """Run the conversion of a parsed dict op on the replaceable convs.

        Strict: ``OP_CONVS`` names convs that must all convert, so one that
        does not is a fault of the network, raised by name, not skipped.
        """
        kind, include = spec['type'], self.OP_CONVS
        # A tracing input of at least 32³; on the meta device it is free.
        size = -(-32 // self.min_size) * self.min_size
        shape = (1, self.in_channels) + (size,) * 3
        if kind == 'cakes':
            return convert_to_cakes(
                self,
                spec.get('arch'),
                spec.get('op_set'),
                include,
                strict=True,
            )
        if kind == 'cakes_search':
            return convert_to_cakes_supernet(
                self,
                spec['op_set'],
                spec.get('mode', 'performance'),
                spec.get('derive', 'argmax'),
                include,
                input_shape=shape,
                strict=True,
            )
        m, n = spec['m'], spec['n']
        paired = self.PAIRED_CONVS and isinstance(n, int) and n >= 2
        return convert_to_pmscn(
            self,
            m,
            n,
            include,
            input_shape=shape,
            replaces=2 if paired else 1,
            strict=True,
        )
