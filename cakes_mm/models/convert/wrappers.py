"""Conversion in a config: one registered wrapper around any network.

::

    backbone=dict(
        type='ConvertedNet',
        model=dict(type='ResNet3d', depth=50, inflate_style='3x3x3', ...),
        op=dict(type='cakes', op_set=['1xkxk', 'kx1x1']))   # fixed, uniform
    backbone=dict(type='ConvertedNet', model=...,
                  op=dict(type='cakes', arch='arch_final.json'))
    backbone=dict(type='ConvertedNet', model=...,
                  op=dict(type='cakes_search', op_set=[...],
                          mode='performance'))             # a supernet
    backbone=dict(type='ConvertedNet', model=...,
                  op=dict(type='pmscn', m=2, n=2))

``op`` is an op of :mod:`cakes_mm.models.ops` made by conversion
(``'cakes'``, ``'cakes_search'``, ``'pmscn'``). ``model`` is a config of
any registered model, a config whose ``type`` is a dotted import path
(e.g. ``'monai.networks.nets.BasicUNet'``), or a module. The wrapped
network is built and initialised (its own ``init_weights``, which may load
or inflate pretrained weights) and then converted, so that trained weights
carry over; the wrapper's own ``init_weights`` then leaves it alone. Its
state dict keys are the network's under ``model.``.

``CAKESConverted`` (``arch=``, ``op_set=``, ``search=``, ``derive=``) and
``PmSCnConverted`` (``m=``, ``n=``) are the deprecated names, kept for one
release; they warn and build the same wrapper.
"""

import importlib
from typing import Dict, Optional, Sequence, Union

import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.model import BaseModule

from ...deprecation import UNSET, warn_deprecated
from ..arch import ArchSpec
from ..layers.pmscn import switch_pmscn_to_deploy
from ..ops import OpSpec, format_op, parse_op
from .converters import CONVERTED_OPS, Patterns, convert_network


def build_network(model: Union[Dict, nn.Module]) -> nn.Module:
    """Build a network from a registry config, a dotted-path config or a
    module.

    Args:
        model (dict | nn.Module): What to build.

    Returns:
        nn.Module: The network.
    """
    if isinstance(model, nn.Module):
        return model
    cfg = dict(model)
    kind = cfg.get('type')
    if isinstance(kind, str) and '.' in kind and MODELS.get(kind) is None:
        module, _, name = kind.rpartition('.')
        try:
            cfg['type'] = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise ValueError(
                f'model type {kind!r} is neither registered '
                f'nor importable ({error})'
            ) from None
    return MODELS.build(cfg)


def alias_op(
    alias: str, op: Optional[OpSpec], old: Dict, spec: Dict
) -> OpSpec:
    """The op of a deprecated wrapper, with the warning naming the new
    form.

    Args:
        alias (str): The deprecated wrapper's name.
        op (dict, optional): Its ``op=``, if given.
        old (dict): Its old keywords that were given.
        spec (dict): The op they stand for.

    Returns:
        dict: ``op`` if given, else ``spec``.
    """
    if op is not None and old:
        raise TypeError(
            f'{alias}: give op= only; {", ".join(k + "=" for k in old)} '
            f'is its deprecated form'
        )
    op = spec if op is None else op
    shown = format_op(op) if isinstance(op, dict) else repr(op)
    warn_deprecated(
        f"{alias} is deprecated; use type='ConvertedNet', op={shown}", 4
    )
    return op


@MODELS.register_module()
class ConvertedNet(BaseModule):
    """A network built, initialised, then converted; see the module doc.

    Args:
        model (dict | nn.Module): The network to convert.
        op (dict): ``dict(type='cakes' | 'cakes_search' | 'pmscn', ...)``.
        include (str | Sequence[str], optional): Regular expressions of the
            layer names to convert. Defaults to None (all candidates).
        exclude (str | Sequence[str], optional): Regular expressions of the
            layer names to leave. Defaults to None.
        input_shape (Sequence[int], optional): An input to trace the network
            with (search, and PmSCn with n >= 2). Defaults to one 32^3
            volume.
        strict (bool): Raise for a selected layer that cannot be converted
            (or, for PmSCn, paired), instead of skipping it (or giving it a
            unit of its own). Defaults to False.
        add_norm (bool): In search, give a conv without a norm of its own a
            new one (see :func:`convert_to_cakes_supernet`). Defaults to
            False.
        replaces (int, optional): PmSCn only: 1 replaces every conv alone,
            2 pairs of convs (n >= 2); None pairs them where n >= 2.
            Defaults to None.
        init_cfg (dict, optional): Unused; the network initialises itself
            before the conversion. Defaults to None.
    """

    def __init__(
        self,
        model: Union[Dict, nn.Module],
        op: OpSpec,
        include: Patterns = None,
        exclude: Patterns = None,
        input_shape: Optional[Sequence[int]] = None,
        strict: bool = False,
        add_norm: bool = False,
        replaces: Optional[int] = None,
        init_cfg: Optional[Dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.model = build_network(model)
        if callable(getattr(self.model, 'init_weights', None)):
            self.model.init_weights()
        #: The op, as a dict.
        self.op = parse_op(op, type(self).__name__, CONVERTED_OPS)
        self.report = convert_network(
            self.model,
            self.op,
            include,
            exclude,
            input_shape,
            strict,
            add_norm,
            replaces,
            owner=type(self).__name__,
        )

    def init_weights(self) -> None:
        """Nothing: the network was initialised before its conversion."""
        self._is_init = True

    def forward(self, *args, **kwargs):
        """The converted network's forward."""
        return self.model(*args, **kwargs)

    def train(self, mode: bool = True) -> 'ConvertedNet':
        """Set the mode (the network's own ``train`` may return None)."""
        super().train(mode)
        return self

    def switch_to_deploy(self) -> None:
        """Fold the batch norms inside the PmSCn units, if any, into their
        2D convs (:func:`~cakes_mm.models.layers.pmscn.switch_pmscn_to_deploy`)."""
        switch_pmscn_to_deploy(self.model)


@MODELS.register_module()
class CAKESConverted(ConvertedNet):
    """Deprecated: ``ConvertedNet`` with ``op=dict(type='cakes', ...)`` or
    ``op=dict(type='cakes_search', ...)``.

    ``arch``/``op_set`` without ``search`` are ``dict(type='cakes', ...)``;
    ``search='performance' | 'cost'`` with ``op_set`` and ``derive`` is
    ``dict(type='cakes_search', op_set=..., mode=search, derive=...)``. The
    other arguments are :class:`ConvertedNet`'s.
    """

    def __init__(
        self,
        model: Union[Dict, nn.Module],
        arch: Optional[ArchSpec] = UNSET,
        op_set: Optional[Sequence[str]] = UNSET,
        search: Optional[str] = UNSET,
        derive: str = UNSET,
        include: Patterns = None,
        exclude: Patterns = None,
        input_shape: Optional[Sequence[int]] = None,
        strict: bool = False,
        add_norm: bool = False,
        init_cfg: Optional[Dict] = None,
        op: Optional[OpSpec] = None,
    ) -> None:
        old = dict(arch=arch, op_set=op_set, search=search, derive=derive)
        given = {k: v for k, v in old.items() if v not in (UNSET, None)}
        if 'search' in given and 'arch' in given:
            raise ValueError(
                'CAKESConverted: give arch (a fixed network) '
                'or search (a supernet), not both'
            )
        if 'search' in given:
            spec = dict(type='cakes_search', op_set=given.get('op_set', []))
            spec['mode'] = given['search']
            if 'derive' in given:
                spec['derive'] = given['derive']
        else:
            spec = dict(type='cakes')
            spec.update(
                (k, given[k]) for k in ('arch', 'op_set') if k in given
            )
        op = alias_op('CAKESConverted', op, given, spec)
        super().__init__(
            model,
            op,
            include,
            exclude,
            input_shape,
            strict,
            add_norm,
            init_cfg=init_cfg,
        )


@MODELS.register_module()
class PmSCnConverted(ConvertedNet):
    """Deprecated: ``ConvertedNet`` with ``op=dict(type='pmscn', m=...,
    n=...)``. The other arguments are :class:`ConvertedNet`'s."""

    def __init__(
        self,
        model: Union[Dict, nn.Module],
        m: int = UNSET,
        n: int = UNSET,
        include: Patterns = None,
        exclude: Patterns = None,
        input_shape: Optional[Sequence[int]] = None,
        strict: bool = False,
        init_cfg: Optional[Dict] = None,
        op: Optional[OpSpec] = None,
    ) -> None:
        old = {k: v for k, v in dict(m=m, n=n).items() if v is not UNSET}
        spec = dict(type='pmscn')
        spec.update(old)
        op = alias_op('PmSCnConverted', op, old, spec)
        super().__init__(
            model,
            op,
            include,
            exclude,
            input_shape,
            strict,
            init_cfg=init_cfg,
        )
