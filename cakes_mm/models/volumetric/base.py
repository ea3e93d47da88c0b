"""What the volumetric networks share: MONAI's calling convention and the
``op`` argument, which picks the operation of their replaceable convs.

``op`` is an op of :mod:`cakes_mm.models.ops` (a network accepts a subset,
see its ``OP_TYPES``):

* ``dict(type='conv3d')``: plain k x k x k convs;
* ``dict(type='conv2d')``: 3x3x1 convs (one orientation),
  ``dict(type='p3d')``: 3x3x1 then 1x1x3 with nothing between; built by
  the network itself;
* ``dict(type='cakes', arch=... | op_set=[...])``,
  ``dict(type='cakes_search', op_set=[...], mode=..., derive=...)``,
  ``dict(type='pmscn', m=..., n=...)``: made the way any network is
  brought to CAKES or PmSCn: the network is built with ``conv3d`` convs and
  its replaceable convs are converted (:mod:`cakes_mm.models.convert`), so
  trained 3D weights carry over. :meth:`VolumetricNet.apply_op` does that
  on a built ``conv3d`` network, e.g. after loading its checkpoint.

A bare name is the same as its dict (``op='conv3d'``); the old names
``'3d'`` and ``'2d'`` still work, with a deprecation warning.
"""

from typing import Any, Dict, Optional, Tuple

import torch.nn as nn

from ..convert import ConversionReport, convert_network
from ..layers.pmscn import switch_pmscn_to_deploy
from ..ops import OPS, OpSpec, describe_types, parse_op

__all__ = [
    'OpSpec',
    'VolumetricNet',
    'check_spatial_dims',
    'describe_types',
    'parse_op',
]


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

    OP_TYPES: Tuple[str, ...] = ('conv3d',)
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
        built = OPS.get(spec['type']).built
        #: The op the network's convs are built with.
        self.built_op: str = spec['type'] if built else 'conv3d'
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
        """Convert the replaceable convs of this ``conv3d`` network, in
        place.

        Trained weights carry over (CAKES shrinks them; PmSCn starts fresh),
        so a trained 3D network can be loaded first, then converted.

        Args:
            op (str | dict): A dict form of ``op``.

        Returns:
            ConversionReport: What was replaced.
        """
        name = type(self).__name__
        spec = parse_op(op, name, self.OP_TYPES)
        if OPS.get(spec['type']).built:
            raise ValueError(
                f'{name}: op={op!r} is built, not converted; '
                f'pass it to the constructor'
            )
        if self.op['type'] != 'conv3d':
            raise ValueError(
                f'{name}: apply_op converts a network built '
                f"with op=dict(type='conv3d'); this one has op={self.op!r}"
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
        include = self.OP_CONVS
        # A tracing input of at least 32³; on the meta device it is free.
        size = -(-32 // self.min_size) * self.min_size
        shape = (1, self.in_channels) + (size,) * 3
        paired = (
            self.PAIRED_CONVS
            and isinstance(spec.get('n'), int)
            and spec['n'] >= 2
        )
        return convert_network(
            self,
            spec,
            include=include,
            input_shape=shape,
            strict=True,
            replaces=2 if paired else 1,
        )
