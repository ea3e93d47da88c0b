"""Conversion in a config: registered wrappers around any network.

::

    backbone=dict(
        type='CAKESConverted',
        model=dict(type='ResNet3d', depth=50, inflate_style='3x3x3', ...),
        op_set=['1xkxk', 'kx1x1'])                    # fixed, uniform
    backbone=dict(type='CAKESConverted', model=..., arch='arch_final.json')
    backbone=dict(type='CAKESConverted', model=..., op_set=[...],
                  search='performance')               # a search supernet
    backbone=dict(type='PmSCnConverted', model=..., m=2, n=2)

``model`` is a config of any registered model, a config whose ``type`` is a
dotted import path (e.g. ``'monai.networks.nets.BasicUNet'``), or a module.
The wrapped network is built and initialised (its own ``init_weights``,
which may load or inflate pretrained weights) and then converted, so that
trained weights carry over; the wrapper's own ``init_weights`` then leaves
it alone. Its state dict keys are the network's under ``model.``.
"""

import importlib
from typing import Dict, Optional, Sequence, Union

import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.model import BaseModule

from ..arch import ArchSpec
from ..layers.pmscn import switch_pmscn_to_deploy
from .converters import (
    Patterns,
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
)


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


class ConvertedNet(BaseModule):
    """A network built, initialised, then converted; see the module doc.

    Args:
        model (dict | nn.Module): The network to convert.
        init_cfg (dict, optional): Unused; the network initialises itself
            before the conversion. Defaults to None.
    """

    def __init__(
        self, model: Union[Dict, nn.Module], init_cfg: Optional[Dict] = None
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.model = build_network(model)
        if callable(getattr(self.model, 'init_weights', None)):
            self.model.init_weights()

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


@MODELS.register_module()
class CAKESConverted(ConvertedNet):
    """A network whose k x k x k convs are CAKES convs, fixed or searched.

    Args:
        model (dict | nn.Module): The network to convert.
        arch (str | list[dict], optional): A fixed arch, one dict per
            converted layer in module order, or a JSON file of one (e.g. a
            search's ``arch_final.json``). Defaults to None.
        op_set (Sequence[str], optional): Without ``arch`` and ``search``: a
            uniform split over these ops. With ``search``: the searched ops.
            Defaults to None.
        search (str, optional): ``'performance'`` or ``'cost'`` builds a
            search supernet; None a fixed network. Defaults to None.
        derive (str): In search, ``'argmax'`` or ``'topk'``. Defaults to
            ``'argmax'``.
        include (str | Sequence[str], optional): Regular expressions of the
            layer names to convert. Defaults to None (all candidates).
        exclude (str | Sequence[str], optional): Regular expressions of the
            layer names to leave. Defaults to None.
        input_shape (Sequence[int], optional): An input to trace the network
            with (search only). Defaults to one 32^3 volume.
        strict (bool): Raise for a selected layer that cannot be converted,
            instead of skipping it. Defaults to False.
        add_norm (bool): In search, give a conv without a norm of its own a
            new one (see :func:`convert_to_cakes_supernet`). Defaults to
            False.
        init_cfg (dict, optional): Unused. Defaults to None.
    """

    def __init__(
        self,
        model: Union[Dict, nn.Module],
        arch: Optional[ArchSpec] = None,
        op_set: Optional[Sequence[str]] = None,
        search: Optional[str] = None,
        derive: str = 'argmax',
        include: Patterns = None,
        exclude: Patterns = None,
        input_shape: Optional[Sequence[int]] = None,
        strict: bool = False,
        add_norm: bool = False,
        init_cfg: Optional[Dict] = None,
    ) -> None:
        super().__init__(model, init_cfg)
        if search is None:
            self.report = convert_to_cakes(
                self.model, arch, op_set, include, exclude, strict
            )
        elif arch is not None:
            raise ValueError(
                'CAKESConverted: give arch (a fixed network) '
                'or search (a supernet), not both'
            )
        else:
            self.report = convert_to_cakes_supernet(
                self.model,
                op_set or [],
                search,
                derive,
                include,
                exclude,
                input_shape,
                strict,
                add_norm,
            )


@MODELS.register_module()
class PmSCnConverted(ConvertedNet):
    """A network whose k x k x k convs are PmSCn units.

    Args:
        model (dict | nn.Module): The network to convert.
        m (int): Parallel streams, 1..3.
        n (int): 2D convs per stream; n >= 2 replaces pairs of convs.
        include (str | Sequence[str], optional): Regular expressions of the
            layer names to convert. Defaults to None (all candidates).
        exclude (str | Sequence[str], optional): Regular expressions of the
            layer names to leave. Defaults to None.
        input_shape (Sequence[int], optional): An input to trace the network
            with (n >= 2). Defaults to one 32^3 volume.
        strict (bool): Raise for a selected layer that cannot be converted
            or paired, instead of skipping it or giving it a unit of its own.
            Defaults to False.
        init_cfg (dict, optional): Unused. Defaults to None.
    """

    def __init__(
        self,
        model: Union[Dict, nn.Module],
        m: int,
        n: int,
        include: Patterns = None,
        exclude: Patterns = None,
        input_shape: Optional[Sequence[int]] = None,
        strict: bool = False,
        init_cfg: Optional[Dict] = None,
    ) -> None:
        super().__init__(model, init_cfg)
        self.report = convert_to_pmscn(
            self.model, m, n, include, exclude, input_shape, strict=strict
        )

    def switch_to_deploy(self) -> None:
        """Fold the batch norms inside the PmSCn units into their 2D convs
        (:func:`~cakes_mm.models.layers.pmscn.switch_pmscn_to_deploy`)."""
        switch_pmscn_to_deploy(self.model)
