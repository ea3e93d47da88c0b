"""Turn the k x k x k convs of an existing network into CAKES or PmSCn.

Three conversions, in place, each returning (and logging) a report of what
it replaced:

* :func:`convert_to_cakes`: each selected conv becomes a fixed
  :class:`~cakes_mm.models.layers.CAKESConv3d` (an arch list or JSON file,
  one entry per converted layer in module order, or a uniform ``op_set``).
  Its trained weights carry over by the shrinking rule: a sub-kernel takes
  the 3D kernel summed over the axes it lacks.
* :func:`convert_to_cakes_supernet`: each selected conv and the norm after
  it become one :class:`~cakes_mm.models.search.CAKESSearchConv3d` whose
  per-(op, channel) norm gives the path weights.
* :func:`convert_to_pmscn`: PmSCn units with m streams of n 2D convs. With
  n = 1 each conv is replaced on its own; with n >= 2, two convs that follow
  each other through norms and activations only (as inside a UNet level or
  a ResNet basic block) are replaced together, as in the paper, unless
  ``replaces=1`` (convs that stand alone, as in a DenseNet).

Convs are selected by ``include`` / ``exclude`` regular expressions on
module names, among the ``nn.Conv3d`` layers with a cubic kernel of size
k > 1. Stride, dilation, bias, padding mode and device are kept; a grouped
or depthwise conv is refused by name.
"""

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from torch.nn.modules.batchnorm import _BatchNorm

from ..arch import ArchSpec, resolve_arch
from ..layers.cakes_conv import CAKESConv3d
from ..layers.pmscn import PmSCn, check_streams
from ..layers.sub_kernels import check_op_set
from ..search.search_conv import CAKESSearchConv3d
from ..utils import link_between, set_module
from .trace import ELEMENTWISE, NORMS, Trace, trace_model

Patterns = Optional[Union[str, Sequence[str]]]


@dataclass
class ReplacedLayer:
    """One replacement.

    Args:
        name (str): The replaced layer(s), e.g. ``'layer1.0.conv2.conv'``.
        old (str): What was there.
        new (str): What is there now.
        old_params (int): Parameters removed.
        new_params (int): Parameters added.
    """

    name: str
    old: str
    new: str
    old_params: int
    new_params: int


@dataclass
class ConversionReport:
    """What a conversion replaced.

    Args:
        target (str): What the network was converted to.
        params_before (int): The network's parameters before.
        layers (list[ReplacedLayer]): The replacements, in module order.
        params_after (int): Its parameters after. Defaults to 0 (filled in
            when the conversion ends).
    """

    target: str
    params_before: int
    layers: List[ReplacedLayer] = field(default_factory=list)
    params_after: int = 0

    def __str__(self) -> str:
        width = max([len(row.name) for row in self.layers] + [5])
        lines = [
            f'converted {len(self.layers)} layer(s) to {self.target}: '
            f'{self.params_before / 1e6:.3f}M -> '
            f'{self.params_after / 1e6:.3f}M params',
            f'{"layer":<{width}}  {"old params":>10}  '
            f'{"new params":>10}  old -> new',
        ]
        lines += [
            f'{row.name:<{width}}  {row.old_params:>10}  '
            f'{row.new_params:>10}  {row.old} -> {row.new}'
            for row in self.layers
        ]
        return '\n'.join(lines)


def count_params(module: nn.Module) -> int:
    """The parameters of a module."""
    return sum(p.numel() for p in module.parameters())


def describe_conv(conv: nn.Conv3d) -> str:
    """``Conv3d 64->64 3x3x3 s(1, 2, 2)``."""
    k = 'x'.join(map(str, conv.kernel_size))
    return (
        f'Conv3d {conv.in_channels}->{conv.out_channels} {k} '
        f's{tuple(conv.stride)}'
    )


def as_patterns(patterns: Patterns) -> List[str]:
    """None, one regular expression or several, as a list."""
    if patterns is None:
        return []
    return [patterns] if isinstance(patterns, str) else list(patterns)


def check_convertible(name: str, conv: nn.Conv3d) -> None:
    """Refuse, naming the layer, a conv conversion cannot keep.

    Args:
        name (str): The layer's name.
        conv (nn.Conv3d): The layer.
    """
    if conv.groups != 1:
        kind = 'depthwise' if conv.groups == conv.in_channels else 'grouped'
        raise ValueError(
            f'{name}: a {kind} conv (groups={conv.groups}, '
            f'{conv.in_channels}->{conv.out_channels}) cannot be converted; '
            f'exclude it'
        )
    k = conv.kernel_size[0]
    same = tuple(d * (k // 2) for d in conv.dilation)
    if k % 2 != 1 or tuple(conv.padding) != same:
        raise ValueError(
            f'{name}: only odd kernels with size-keeping padding convert '
            f'(kernel {k}, padding {conv.padding}, expected {same}); '
            f'exclude it'
        )


def select_convs(
    model: nn.Module, include: Patterns = None, exclude: Patterns = None
) -> List[Tuple[str, nn.Conv3d]]:
    """The convs a conversion replaces, in module order.

    Args:
        model (nn.Module): The network.
        include (str | Sequence[str], optional): Regular expressions; a
            layer is selected if its name matches one (``re.search``). None
            selects every candidate. Defaults to None.
        exclude (str | Sequence[str], optional): Regular expressions; a
            layer whose name matches one is left alone. Defaults to None.

    Returns:
        list[tuple[str, nn.Conv3d]]: ``(name, conv)`` pairs.
    """
    include, exclude = as_patterns(include), as_patterns(exclude)
    candidates = [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv3d)
        and min(m.kernel_size) > 1
        and len(set(m.kernel_size)) == 1
    ]
    selected = [
        (name, m)
        for name, m in candidates
        if (not include or any(re.search(p, name) for p in include))
        and not any(re.search(p, name) for p in exclude)
    ]
    if not selected:
        names = ', '.join(name for name, _ in candidates[:8]) or 'none'
        raise ValueError(
            f'include={include or None} exclude={exclude or None} select no '
            f'k x k x k Conv3d layer of {type(model).__name__}; its '
            f'candidates are: {names}'
            f'{" ..." if len(candidates) > 8 else ""}'
        )
    for name, conv in selected:
        check_convertible(name, conv)
    return selected


def default_input_shape(model: nn.Module) -> Tuple[int, ...]:
    """A tracing input: one 32^3 volume with the first conv's channels."""
    first = next(
        (m for m in model.modules() if isinstance(m, nn.Conv3d)), None
    )
    if first is None:
        raise ValueError(
            f'{type(model).__name__} has no Conv3d; pass input_shape'
        )
    return (1, first.in_channels, 32, 32, 32)


def norm_cfg_of(norm: nn.Module) -> Dict:
    """An mmcv norm config that rebuilds ``norm``'s kind and settings."""
    kind = 'BN3d' if isinstance(norm, _BatchNorm) else 'IN3d'
    cfg = dict(
        type=kind,
        eps=norm.eps,
        momentum=norm.momentum,
        track_running_stats=norm.track_running_stats,
    )
    if kind == 'IN3d':
        cfg['affine'] = norm.affine
    return cfg


def finish(model: nn.Module, report: ConversionReport) -> ConversionReport:
    """Count the converted model, log the report and return it."""
    report.params_after = count_params(model)
    print_log(str(report), logger='current')
    return report


def convert_to_cakes(
    model: nn.Module,
    arch: Optional[ArchSpec] = None,
    op_set: Optional[Sequence[str]] = None,
    include: Patterns = None,
    exclude: Patterns = None,
) -> ConversionReport:
    """Replace selected convs by fixed CAKES convs, keeping their weights.

    Args:
        model (nn.Module): The network, changed in place.
        arch (str | list[dict], optional): One dict per selected layer, in
            module order (a list, or a JSON file of one, as the search
            exports); or ``'uniform'`` with ``op_set``. Defaults to None,
            which means ``'uniform'``.
        op_set (Sequence[str], optional): Sub-kernels to split each layer's
            width over evenly (the remainder to the first). Defaults to None.
        include (str | Sequence[str], optional): See :func:`select_convs`.
        exclude (str | Sequence[str], optional): See :func:`select_convs`.

    Returns:
        ConversionReport: What was replaced.
    """
    layers = select_convs(model, include, exclude)
    if arch is None and op_set is None:
        raise ValueError('convert_to_cakes needs an arch or an op_set')
    choices = resolve_arch(
        'uniform' if arch is None else arch,
        [conv.out_channels for _, conv in layers],
        [name for name, _ in layers],
        op_set,
    )
    report = ConversionReport('CAKES', count_params(model))
    for (name, conv), choice in zip(layers, choices):
        new = CAKESConv3d(
            conv.in_channels,
            choice,
            conv.stride,
            conv.kernel_size[0],
            conv.bias is not None,
            conv.dilation,
            conv.padding_mode,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        new.shrink_from(conv)
        set_module(model, name, new)
        report.layers.append(
            ReplacedLayer(
                name,
                describe_conv(conv),
                f'CAKESConv3d {choice}',
                count_params(conv),
                count_params(new),
            )
        )
    return finish(model, report)


def following_norm(trace: Trace, name: str, model: nn.Module) -> str:
    """The name of the norm called on conv ``name``'s output, or an error
    naming the layer."""
    index = trace.next_call(trace.index_of(name))
    call = None if index is None else trace.calls[index]
    found = None if call is None else model.get_submodule(call.name)
    if not isinstance(found, NORMS):
        what = (
            'no module (its output goes to a function, to several '
            'modules, or out of the network)'
            if call is None
            else f'{call.name} ({type(found).__name__})'
        )
        raise ValueError(
            f'{name}: search needs a batch or instance norm right after '
            f'each searched conv, for its path weights; after this layer '
            f'comes {what}. Exclude it, or add a norm'
        )
    if trace.times_called[call.name] != 1:
        raise ValueError(
            f'{name}: the norm after it, {call.name}, is '
            f'called {trace.times_called[call.name]} times; '
            f'a shared norm cannot be searched per layer'
        )
    if (
        isinstance(found, nn.modules.instancenorm._InstanceNorm)
        and not found.affine
    ):
        raise ValueError(
            f'{name}: the instance norm after it, {call.name},'
            f' has no affine scale to give path weights'
        )
    return call.name


def convert_to_cakes_supernet(
    model: nn.Module,
    op_set: Sequence[str],
    mode: str = 'performance',
    derive: str = 'argmax',
    include: Patterns = None,
    exclude: Patterns = None,
    input_shape: Optional[Sequence[int]] = None,
) -> ConversionReport:
    """Replace selected convs and their norms by searched layers.

    Every op holds all the conv's filters, shrunk from its trained weights;
    the norm after the conv (found by tracing) becomes the per-(op, channel)
    norm, its parameters repeated over the ops, and is replaced by an
    identity where it was. In cost mode the ops of a channel are summed, so
    every layer keeps its width.

    Args:
        model (nn.Module): The network, changed in place.
        op_set (Sequence[str]): At least two sub-kernel names.
        mode (str): ``'performance'`` or ``'cost'``. Defaults to
            ``'performance'``.
        derive (str): ``'argmax'`` or ``'topk'``. Defaults to ``'argmax'``.
        include (str | Sequence[str], optional): See :func:`select_convs`.
        exclude (str | Sequence[str], optional): See :func:`select_convs`.
        input_shape (Sequence[int], optional): An input to trace the network
            with. Defaults to one 32^3 volume (:func:`default_input_shape`).

    Returns:
        ConversionReport: What was replaced.
    """
    check_op_set(op_set, min_ops=2)
    layers = select_convs(model, include, exclude)
    trace = trace_model(model, input_shape or default_input_shape(model))
    norms = [following_norm(trace, name, model) for name, _ in layers]
    report = ConversionReport(
        f'a CAKES {mode}-priority supernet over {list(op_set)}',
        count_params(model),
    )
    for (name, conv), norm_name in zip(layers, norms):
        norm = model.get_submodule(norm_name)
        new = CAKESSearchConv3d(
            conv.in_channels,
            conv.out_channels,
            op_set,
            mode,
            conv.stride,
            conv.kernel_size[0],
            derive,
            conv.dilation,
            conv.bias is not None,
            conv.padding_mode,
            norm_cfg_of(norm),
            device=conv.weight.device,
        )
        new.shrink_from(conv, norm)
        new.train(conv.training)
        new.norm_link = link_between(name, norm_name)
        set_module(model, name, new)
        set_module(model, norm_name, nn.Identity())
        report.layers.append(
            ReplacedLayer(
                f'{name} + {norm_name}',
                describe_conv(conv),
                f'CAKESSearchConv3d x{len(op_set)} ops',
                count_params(conv) + count_params(norm),
                count_params(new),
            )
        )
    return finish(model, report)


def pmscn_norm_cfg(model: nn.Module) -> Dict:
    """The norm inside PmSCn streams: the kind the network uses (its first
    batch or instance norm), else BN."""
    norm = next((m for m in model.modules() if isinstance(m, NORMS)), None)
    return dict(type='BN3d') if norm is None else norm_cfg_of(norm)


def paired_conv(
    trace: Trace, model: nn.Module, name: str, selected: Dict[str, nn.Conv3d]
) -> Tuple[str, List[str]]:
    """The selected conv that conv ``name`` feeds through norms and
    activations only, and the modules between them.

    Raises:
        ValueError: Naming the layer, when there is no such conv.
    """
    chain, index = [], trace.next_call(trace.index_of(name))
    while index is not None and trace.calls[index].name not in selected:
        between = trace.calls[index].name
        if (
            not isinstance(model.get_submodule(between), ELEMENTWISE)
            or trace.times_called[between] != 1
        ):
            break
        chain.append(between)
        index = trace.next_call(index)
    if index is None or trace.calls[index].name not in selected:
        what = (
            'a function, a branch or the network output'
            if index is None
            else trace.calls[index].name
        )
        raise ValueError(
            f'{name}: n >= 2 replaces pairs of consecutive convs, but this '
            f'layer does not reach a second selected conv through norms and '
            f'activations only (it stops at {what}); exclude it or use n=1'
        )
    return trace.calls[index].name, chain


def convert_to_pmscn(
    model: nn.Module,
    m: int,
    n: int,
    include: Patterns = None,
    exclude: Patterns = None,
    input_shape: Optional[Sequence[int]] = None,
    replaces: Optional[int] = None,
) -> ConversionReport:
    """Replace selected convs by PmSCn units (P_m SC_n).

    PmSCn factorises the conv, so its weights start fresh (PyTorch's default
    initialisation) rather than from the replaced ones. Inside the streams
    the norm is of the kind the network uses.

    Args:
        model (nn.Module): The network, changed in place.
        m (int): Parallel streams, 1..3.
        n (int): 2D convs per stream; n >= 2 replaces pairs of convs.
        include (str | Sequence[str], optional): See :func:`select_convs`.
        exclude (str | Sequence[str], optional): See :func:`select_convs`.
        input_shape (Sequence[int], optional): An input to trace the network
            with, for pairs. Defaults to one 32^3 volume.
        replaces (int, optional): Convs per unit: 2 pairs them, 1 replaces
            each alone by a unit whose n 2D convs stand for that one conv
            (for networks whose convs stand alone, e.g. a DenseNet).
            Defaults to None: 1 for n = 1, else 2.

    Returns:
        ConversionReport: What was replaced.
    """
    check_streams(m, n)
    replaces = min(n, 2) if replaces is None else replaces
    if replaces not in (1, 2) or replaces > n:
        raise ValueError(
            f'PmSCn: replaces must be 1, or 2 with n >= 2; '
            f'got replaces={replaces!r} with n={n}'
        )
    layers = select_convs(model, include, exclude)
    norm_cfg = pmscn_norm_cfg(model)
    report = ConversionReport(f'P{m}SC{n}', count_params(model))
    if replaces == 1:
        for name, conv in layers:
            unit = unit_for(conv, conv, m, n, 1, norm_cfg)
            set_module(model, name, unit)
            report.layers.append(
                ReplacedLayer(
                    name,
                    describe_conv(conv),
                    f'P{m}SC{n}',
                    count_params(conv),
                    count_params(unit),
                )
            )
        return finish(model, report)
    trace = trace_model(model, input_shape or default_input_shape(model))
    selected, done = dict(layers), set()
    for name, first in layers:
        if name in done:
            continue
        second_name, chain = paired_conv(trace, model, name, selected)
        second = selected[second_name]
        if second.out_channels != first.out_channels:
            raise ValueError(
                f'{name} + {second_name}: a pair must keep its width '
                f'({first.out_channels} then {second.out_channels} '
                f'channels); exclude them or use n=1'
            )
        unit = unit_for(first, second, m, n, 2, norm_cfg)
        removed = [model.get_submodule(c) for c in chain]
        old = (
            count_params(first)
            + count_params(second)
            + sum(count_params(c) for c in removed)
        )
        set_module(model, name, unit)
        for path in chain + [second_name]:
            set_module(model, path, nn.Identity())
        done |= {name, second_name}
        report.layers.append(
            ReplacedLayer(
                f'{name} + {second_name}',
                f'{describe_conv(first)} + {describe_conv(second)}',
                f'P{m}SC{n}',
                old,
                count_params(unit),
            )
        )
    return finish(model, report)


def unit_for(
    first: nn.Conv3d,
    last: nn.Conv3d,
    m: int,
    n: int,
    replaces: int,
    norm_cfg: Dict,
) -> PmSCn:
    """The PmSCn unit standing for convs ``first`` … ``last``."""
    return PmSCn(
        first.in_channels,
        last.out_channels,
        first.stride,
        m,
        n,
        first.kernel_size[0],
        replaces,
        first.dilation,
        last.bias is not None,
        norm_cfg,
    ).to(first.weight.device)
