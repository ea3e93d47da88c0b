"""The fixed network a supernet stands for: export, weights and cost.

:func:`fixed_subnet` turns every searched layer of a model into the fixed
layers of its current choice (the frozen one, else the derived one), with
the supernet's weights: a :class:`~cakes_mm.models.layers.CAKESConv3d` where
the searched conv was, and a norm of C_out channels where the norm it
replaced was. Where each channel keeps exactly one op (always under
``argmax``), the result computes the same function as the supernet in eval
mode: the fixed conv puts each channel back at its supernet position
(``channel_order``). Its state dict therefore loads into the network that
conversion builds from the exported arch JSON.
"""

import copy
from typing import Sequence

import torch
import torch.nn as nn

from ...analysis.complexity import Complexity, model_complexity
from ..layers.cakes_conv import CAKESConv3d
from ..utils import follow_link, set_module
from .derive import mask_to_choice
from .mutator import search_layers
from .search_conv import NORM_STATE, CAKESSearchConv3d, build_affine_norm


def grouped_pairs(
    layer: CAKESSearchConv3d, mask: torch.Tensor
) -> torch.Tensor:
    """The chosen (op, channel) pairs, op by op in op-set order.

    Args:
        layer (CAKESSearchConv3d): The searched layer.
        mask (torch.Tensor): Its chosen (num_ops, C_out) mask.

    Returns:
        torch.Tensor: Pair indices ``op * C_out + channel``.
    """
    return torch.cat(
        [
            o * layer.channels + mask[o].nonzero().squeeze(1)
            for o in range(len(layer.op_set))
        ]
    )


def fixed_conv(
    layer: CAKESSearchConv3d, mask: torch.Tensor, exact: bool
) -> CAKESConv3d:
    """The fixed conv of a chosen mask, with the supernet's filters.

    Args:
        layer (CAKESSearchConv3d): The searched layer.
        mask (torch.Tensor): Its chosen mask.
        exact (bool): Whether each channel keeps one op; then the channels
            go back to their supernet positions.

    Returns:
        CAKESConv3d: The conv.
    """
    pairs = grouped_pairs(layer, mask)
    channels = pairs % layer.channels
    device = layer.search_bn.weight.device
    conv = CAKESConv3d(
        layer.in_channels,
        mask_to_choice(mask, layer.op_set),
        layer.stride,
        layer.kernel_size,
        layer.bias,
        layer.dilation,
        layer.padding_mode,
        channel_order=channels
        if exact
        and not torch.equal(
            channels, torch.arange(layer.channels, device=channels.device)
        )
        else None,
        device=device,
    )
    with torch.no_grad():
        for o, name in enumerate(layer.op_set):
            if name not in conv.convs:
                continue
            rows = mask[o].nonzero().squeeze(1)
            source = layer.convs[name]
            conv.convs[name].weight.copy_(source.weight[rows])
            if source.bias is not None:
                conv.convs[name].bias.copy_(source.bias[rows])
    return conv


def fixed_norm(
    layer: CAKESSearchConv3d, mask: torch.Tensor, exact: bool
) -> nn.Module:
    """A norm of C_out channels holding each channel's chosen pair.

    Args:
        layer (CAKESSearchConv3d): The searched layer.
        mask (torch.Tensor): Its chosen mask.
        exact (bool): Whether each channel keeps one op; else the pairs are
            taken in grouped order, which keeps the cost but not the
            function.

    Returns:
        nn.Module: The norm, of the type the searched layer used.
    """
    pairs = grouped_pairs(layer, mask)
    if exact:
        pairs = pairs[torch.argsort(pairs % layer.channels)]
    norm = build_affine_norm(
        layer.norm_cfg, layer.channels, layer.search_bn.weight.device
    )
    with torch.no_grad():
        for key in NORM_STATE:
            source = getattr(layer.search_bn, key, None)
            if source is not None:
                getattr(norm, key).copy_(source[pairs])
    norm.train(layer.search_bn.training)
    return norm


def fixed_consumer(
    layer: CAKESSearchConv3d,
    consumer: nn.Conv3d,
    mask: torch.Tensor,
    exact: bool,
) -> nn.Conv3d:
    """The 1x1x1 conv after a ``'concat'`` layer, reading C_out channels.

    Args:
        layer (CAKESSearchConv3d): The searched layer.
        consumer (nn.Conv3d): The conv reading its n·C_out outputs.
        mask (torch.Tensor): The chosen mask.
        exact (bool): Whether each channel keeps one op.

    Returns:
        nn.Conv3d: The conv on the chosen pairs' channels only.
    """
    pairs = grouped_pairs(layer, mask)
    if exact:
        pairs = pairs[torch.argsort(pairs % layer.channels)]
    new = nn.Conv3d(
        len(pairs),
        consumer.out_channels,
        consumer.kernel_size,
        consumer.stride,
        consumer.padding,
        consumer.dilation,
        bias=consumer.bias is not None,
        device=consumer.weight.device,
    )
    with torch.no_grad():
        new.weight.copy_(consumer.weight[:, pairs])
        if consumer.bias is not None:
            new.bias.copy_(consumer.bias)
    return new


def fixed_subnet(model: nn.Module, strict: bool = True) -> nn.Module:
    """A copy of ``model`` with every searched layer made fixed.

    Args:
        model (nn.Module): A model with searched layers.
        strict (bool): Refuse a choice in which some channel keeps no op or
            several (possible under ``topk``), which a fixed network cannot
            compute exactly. With False such layers keep their op counts and
            cost but not their function. Defaults to True.

    Returns:
        nn.Module: The fixed network, on the model's device.
    """
    fixed = copy.deepcopy(model)
    for name, layer in search_layers(fixed):
        mask = layer.chosen_mask()
        exact = bool((mask.sum(dim=0) == 1).all())
        if strict and not exact:
            raise ValueError(
                f'{name}: the chosen paths give some channels no op or '
                f'several (derive={layer.derive!r}), which a fixed layer '
                f'cannot compute; derive with argmax'
            )
        conv = fixed_conv(layer, mask, exact)
        norm = fixed_norm(layer, mask, exact)
        if layer.norm_link is None:
            set_module(fixed, name, nn.Sequential(conv, norm))
        else:
            set_module(fixed, name, conv)
            set_module(fixed, follow_link(name, layer.norm_link), norm)
        if layer.out_channels > layer.channels:
            if layer.consumer_link is None:
                raise ValueError(
                    f'{name}: a concat-output layer needs its '
                    f'consumer_link to be exported'
                )
            path = follow_link(name, layer.consumer_link)
            set_module(
                fixed,
                path,
                fixed_consumer(layer, fixed.get_submodule(path), mask, exact),
            )
    return fixed


def subnet_complexity(model: nn.Module, shape: Sequence[int]) -> Complexity:
    """Params and multiply-adds of the fixed network a supernet stands for.

    Args:
        model (nn.Module): A model with searched layers.
        shape (Sequence[int]): The input shape, e.g. (N, C, T, H, W).

    Returns:
        Complexity: As :func:`~cakes_mm.analysis.model_complexity` counts.
    """
    return model_complexity(fixed_subnet(model, strict=False), shape)
