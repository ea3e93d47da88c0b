"""Turn the k x k x k convs of an existing network into CAKES or PmSCn.

Three conversions, in place, each returning (and logging) a report of what
it replaced:

* :func:`convert_to_cakes`: each selected conv becomes a fixed
  :class:`~cakes_mm.models.layers.CAKESConv3d` (an arch list or JSON file,
  one entry per converted layer in module order, or a uniform ``op_set``).
  Its trained weights carry over by the shrinking rule: a sub-kernel takes
  the 3D kernel summed over the axes it lacks.
* :func:`convert_to_cakes_supernet`: each selected conv and the norm after
  it (made affine if it was not; or a new one, with ``add_norm``) become
  one :class:`~cakes_mm.models.search.CAKESSearchConv3d` whose
  per-(op, channel) norm gives the path weights.
* :func:`convert_to_pmscn`: PmSCn units with m streams of n 2D convs. With
  n = 1 each conv is replaced on its own; with n >= 2, two convs that follow
  each other through norms and activations only (as inside a UNet level or
  a ResNet basic block) are replaced together, as in the paper, unless
  ``replaces=1`` (convs that stand alone, as in a DenseNet).

Convs are selected by ``include`` / ``exclude`` regular expressions on
module names, among the ``nn.Conv3d`` layers with a cubic kernel of size
k > 1; patterns that select none are refused. Stride, dilation, bias,
padding mode and device are kept.

A network is taken as it comes: a selected conv that cannot be converted
(grouped or depthwise, an even kernel, padding that changes the size; in
search, no norm of its own) is skipped, and the report (logged) lists it
with its reason; for PmSCn pairs, a conv without a partner gets a unit of
its own. With ``strict=True`` the first such conv is refused by name
instead. A conversion that would convert nothing is refused.
"""

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from torch.nn.modules.batchnorm import _BatchNorm

from ..arch import ArchSpec, resolve_arch
from ..layers.cakes_conv import CAKESConv3d
from ..layers.pmscn import PmSCn, check_streams
from ..layers.sub_kernels import check_op_set
from ..ops import OPS, OpSpec, parse_op
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
    note: str = ''


@dataclass
class SkippedLayer:
    """A selected layer left as it was.

    Args:
        name (str): The layer.
        reason (str): Why it was not converted.
    """

    name: str
    reason: str


@dataclass
class ConversionReport:
    """What a conversion replaced.

    Args:
        target (str): What the network was converted to.
        params_before (int): The network's parameters before.
        layers (list[ReplacedLayer]): The replacements, in module order.
        skipped (list[SkippedLayer]): The selected layers left as they
            were, with their reasons.
        params_after (int): Its parameters after. Defaults to 0 (filled in
            when the conversion ends).
    """

    target: str
    params_before: int
    layers: List[ReplacedLayer] = field(default_factory=list)
    skipped: List[SkippedLayer] = field(default_factory=list)
    params_after: int = 0

    def refuse(self, name: str, reason: str, strict: bool) -> None:
        """Raise for layer ``name`` (strict), or record it as skipped.

        Args:
            name (str): The layer.
            reason (str): Why it cannot be converted.
            strict (bool): Raise a ValueError naming the layer.
        """
        if strict:
            raise ValueError(f'{name}: {reason}')
        self.skipped.append(SkippedLayer(name, reason))

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
            + (f' ({row.note})' if row.note else '')
            for row in self.layers
        ]
        if self.skipped:
            lines.append(f'skipped {len(self.skipped)} layer(s):')
            lines += [f'{row.name}: {row.reason}' for row in self.skipped]
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


def conv_refusal(conv: nn.Conv3d) -> Optional[str]:
    """Why conversion cannot keep this conv, or None when it can.

    Args:
        conv (nn.Conv3d): A selected layer.

    Returns:
        str | None: The reason.
    """
    if conv.groups != 1:
        kind = 'depthwise' if conv.groups == conv.in_channels else 'grouped'
        return (
            f'a {kind} conv (groups={conv.groups}, '
            f'{conv.in_channels}->{conv.out_channels}) cannot be converted; '
            f'exclude it'
        )
    k = conv.kernel_size[0]
    same = tuple(d * (k // 2) for d in conv.dilation)
    if k % 2 != 1 or tuple(conv.padding) != same:
        return (
            f'only odd kernels with size-keeping padding convert '
            f'(kernel {k}, padding {conv.padding}, expected {same}); '
            f'exclude it'
        )
    return None


def matching_convs(
    model: nn.Module, include: Patterns, exclude: Patterns
) -> List[Tuple[str, nn.Conv3d]]:
    """The k x k x k convs (k > 1) the patterns select, in module order.

    Args:
        model (nn.Module): The network.
        include (str | Sequence[str], optional): See :func:`select_convs`.
        exclude (str | Sequence[str], optional): See :func:`select_convs`.

    Returns:
        list[tuple[str, nn.Conv3d]]: ``(name, conv)`` pairs.

    Raises:
        ValueError: When the patterns select none.
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
    return selected


def convertible_convs(
    model: nn.Module,
    include: Patterns,
    exclude: Patterns,
    report: ConversionReport,
    strict: bool,
) -> List[Tuple[str, nn.Conv3d]]:
    """The selected convs conversion can keep; the others are refused
    (strict) or recorded in ``report`` as skipped.

    Args:
        model (nn.Module): The network.
        include (str | Sequence[str], optional): See :func:`select_convs`.
        exclude (str | Sequence[str], optional): See :func:`select_convs`.
        report (ConversionReport): Where skipped layers go.
        strict (bool): Raise for the first conv that cannot be converted.

    Returns:
        list[tuple[str, nn.Conv3d]]: ``(name, conv)`` pairs.
    """
    kept = []
    for name, conv in matching_convs(model, include, exclude):
        reason = conv_refusal(conv)
        if reason is None:
            kept.append((name, conv))
        else:
            report.refuse(name, reason, strict)
    return kept


def select_convs(
    model: nn.Module, include: Patterns = None, exclude: Patterns = None
) -> List[Tuple[str, nn.Conv3d]]:
    """The convs a strict conversion replaces, in module order.

    Args:
        model (nn.Module): The network.
        include (str | Sequence[str], optional): Regular expressions; a
            layer is selected if its name matches one (``re.search``). None
            selects every candidate. Defaults to None.
        exclude (str | Sequence[str], optional): Regular expressions; a
            layer whose name matches one is left alone. Defaults to None.

    Returns:
        list[tuple[str, nn.Conv3d]]: ``(name, conv)`` pairs.

    Raises:
        ValueError: When the patterns select none, or naming a selected
            conv that cannot be converted (grouped, even or not
            size-keeping).
    """
    report = ConversionReport('a check', 0)
    return convertible_convs(model, include, exclude, report, strict=True)


def check_left(
    layers: Sequence[Tuple[str, nn.Module]], report: ConversionReport
) -> None:
    """Refuse a conversion that every selected layer skipped.

    Args:
        layers (Sequence[tuple[str, nn.Module]]): What is left to convert.
        report (ConversionReport): The skipped layers, with reasons.
    """
    if not layers:
        reasons = '; '.join(
            f'{row.name}: {row.reason}' for row in report.skipped[:3]
        )
        more = ' ...' if len(report.skipped) > 3 else ''
        raise ValueError(
            f'no selected layer converts to {report.target} ({reasons}{more})'
        )


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
    strict: bool = False,
) -> ConversionReport:
    """Replace selected convs by fixed CAKES convs, keeping their weights.

    Args:
        model (nn.Module): The network, changed in place.
        arch (str | list[dict], optional): One dict per converted layer, in
            module order (a list, or a JSON file of one, as the search
            exports); or ``'uniform'`` with ``op_set``. Defaults to None,
            which means ``'uniform'``.
        op_set (Sequence[str], optional): Sub-kernels to split each layer's
            width over evenly (the remainder to the first). Defaults to None.
        include (str | Sequence[str], optional): See :func:`select_convs`.
        exclude (str | Sequence[str], optional): See :func:`select_convs`.
        strict (bool): Raise, naming the layer, for a selected conv that
            cannot be converted; else skip it and report why. Defaults to
            False.

    Returns:
        ConversionReport: What was replaced, and what was skipped.
    """
    if arch is None and op_set is None:
        raise ValueError('convert_to_cakes needs an arch or an op_set')
    report = ConversionReport('CAKES', count_params(model))
    layers = convertible_convs(model, include, exclude, report, strict)
    check_left(layers, report)
    choices = resolve_arch(
        'uniform' if arch is None else arch,
        [conv.out_channels for _, conv in layers],
        [name for name, _ in layers],
        op_set,
    )
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


def norm_after(
    trace: Trace, name: str, model: nn.Module
) -> Tuple[Optional[str], str]:
    """The norm called on conv ``name``'s output alone, for search.

    Args:
        trace (Trace): The network's calls.
        name (str): The conv.
        model (nn.Module): The network.

    Returns:
        tuple[str | None, str]: The norm's name, or None and why the conv
        has no norm of its own.
    """
    index = trace.next_call(trace.index_of(name))
    call = None if index is None else trace.calls[index]
    found = None
    if call is not None and call.is_module:
        found = model.get_submodule(call.name)
    if not isinstance(found, NORMS):
        if call is None:
            what = 'no module (its output branches, or leaves the network)'
        elif call.is_module:
            what = f'{call.name} ({type(found).__name__})'
        else:
            what = f'the function {call.name}'

        return None, (
            f'search needs a batch or instance norm right after each '
            f'searched conv, for its path weights; after this layer comes '
            f'{what}. Exclude it, or pass add_norm=True'
        )
    if trace.times_called[call.name] != 1:
        return None, (
            f'the norm after it, {call.name}, is called '
            f'{trace.times_called[call.name]} times; a shared norm cannot '
            f'be searched per layer. Exclude it, or pass add_norm=True'
        )
    return call.name, ''


def network_norm_cfg(model: nn.Module) -> Dict:
    """The norm conversion adds (in PmSCn streams, or after a searched conv
    that has none): the kind and settings of the network's first batch or
    instance norm; in a network without one, an instance norm if it
    normalises with group or layer norms (which, like an instance norm, do
    not depend on the batch), else a batch norm.

    Args:
        model (nn.Module): The network.

    Returns:
        dict: An mmcv norm config (``BN3d`` or ``IN3d``).
    """
    norm = next((m for m in model.modules() if isinstance(m, NORMS)), None)
    if norm is not None:
        return norm_cfg_of(norm)
    if any(
        isinstance(m, (nn.GroupNorm, nn.LayerNorm)) for m in model.modules()
    ):
        return dict(type='IN3d')
    return dict(type='BN3d')


def search_norm(
    model: nn.Module,
    norm_name: Optional[str],
    added_cfg: Dict,
    channels: int,
) -> Tuple[nn.Module, str]:
    """The norm a searched layer takes over, and a note for the report.

    Args:
        model (nn.Module): The network.
        norm_name (str, optional): The norm after the conv; None adds one.
        added_cfg (dict): The mmcv config of an added norm.
        channels (int): The conv's output channels.

    Returns:
        tuple[nn.Module, str]: The norm and what was done to it.
    """
    if norm_name is None:
        norm = build_norm_layer(added_cfg, channels)[1]
        return norm, f'{added_cfg["type"]} added'
    norm = model.get_submodule(norm_name)
    if getattr(norm, 'weight', None) is None:
        return norm, 'non-affine norm made affine (scale 1, shift 0)'
    return norm, ''


def convert_to_cakes_supernet(
    model: nn.Module,
    op_set: Sequence[str],
    mode: str = 'performance',
    derive: str = 'argmax',
    include: Patterns = None,
    exclude: Patterns = None,
    input_shape: Optional[Sequence[int]] = None,
    strict: bool = False,
    add_norm: bool = False,
) -> ConversionReport:
    """Replace selected convs and their norms by searched layers.

    Every op holds all the conv's filters, shrunk from its trained weights;
    the norm after the conv (found by tracing) becomes the per-(op, channel)
    norm, its parameters repeated over the ops, and is replaced by an
    identity where it was. A norm without affine parameters (MONAI's
    default instance norm) gets a scale of 1 and a shift of 0, so that the
    network computes what it did. In cost mode the ops of a channel are
    summed, so every layer keeps its width.

    A conv whose output does not go to a norm of its own alone (in a
    pre-activation network, say) is skipped, unless ``add_norm``: then its
    searched layer gets a new affine norm (of the kind
    :func:`network_norm_cfg` picks) with PyTorch's initialisation, scale 1
    and shift 0 (a batch norm's running mean 0 and variance 1), placed after
    the conv, before whatever followed it. That changes what the network
    computes: the conv's output is normalised from then on (in eval mode,
    before any training, an added batch norm passes it through all but
    unchanged; an instance norm always normalises). The report marks those
    layers.

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
        strict (bool): Raise, naming the layer, for a selected conv that
            cannot be converted or (without ``add_norm``) has no norm of its
            own; else skip it and report why. Defaults to False.
        add_norm (bool): Give a conv without a norm of its own a new one,
            see above. Defaults to False.

    Returns:
        ConversionReport: What was replaced, and what was skipped.
    """
    check_op_set(op_set, min_ops=2)
    report = ConversionReport(
        f'a CAKES {mode}-priority supernet over {list(op_set)}',
        count_params(model),
    )
    layers = convertible_convs(model, include, exclude, report, strict)
    trace = trace_model(model, input_shape or default_input_shape(model))
    planned = []
    for name, conv in layers:
        norm_name, reason = norm_after(trace, name, model)
        if norm_name is None and not add_norm:
            report.refuse(name, reason, strict)
        else:
            planned.append((name, conv, norm_name))
    check_left(planned, report)
    added_cfg = network_norm_cfg(model)
    for name, conv, norm_name in planned:
        norm, note = search_norm(
            model, norm_name, added_cfg, conv.out_channels
        )
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
        set_module(model, name, new)
        old_params = count_params(conv)
        if norm_name is not None:
            new.norm_link = link_between(name, norm_name)
            set_module(model, norm_name, nn.Identity())
            old_params += count_params(norm)
        report.layers.append(
            ReplacedLayer(
                name if norm_name is None else f'{name} + {norm_name}',
                describe_conv(conv),
                f'CAKESSearchConv3d x{len(op_set)} ops',
                old_params,
                count_params(new),
                note,
            )
        )
    return finish(model, report)


def paired_conv(
    trace: Trace, model: nn.Module, name: str, selected: Dict[str, nn.Conv3d]
) -> Tuple[Optional[str], List[str], str]:
    """The selected conv that conv ``name`` feeds through norms and
    activations only, and the modules between them.

    Args:
        trace (Trace): The network's calls.
        model (nn.Module): The network.
        name (str): The first conv.
        selected (dict[str, nn.Conv3d]): The convs that may be its partner.

    Returns:
        tuple[str | None, list[str], str]: The partner (None when there is
        none), the modules between, and why there is no partner.
    """
    chain, index = [], trace.next_call(trace.index_of(name))
    while index is not None and trace.calls[index].name not in selected:
        between = trace.calls[index].name
        if not trace.calls[index].is_module or (
            not isinstance(model.get_submodule(between), ELEMENTWISE)
            or trace.times_called[between] != 1
        ):
            break
        chain.append(between)
        index = trace.next_call(index)
    if index is not None and trace.calls[index].name in selected:
        return trace.calls[index].name, chain, ''
    what = 'a branch or the network output'
    if index is not None:
        call = trace.calls[index]
        times = trace.times_called[call.name]
        shared = ''
        if call.is_module and times > 1:
            shared = f', a module called {times} times'
        what = f'{call.name}{shared}'
    reason = (
        f'no selected conv follows it through norms and activations alone '
        f'(it stops at {what})'
    )
    return None, [], reason


def pair_refusal(
    first: nn.Conv3d, second_name: str, second: nn.Conv3d, done: set
) -> str:
    """Why a conv and the conv it feeds cannot be one unit ('' if they can).

    Args:
        first (nn.Conv3d): The first conv.
        second_name (str): The conv it feeds.
        second (nn.Conv3d): That conv.
        done (set): The convs already in a unit.

    Returns:
        str: The reason, naming the partner.
    """
    if second_name in done:
        return f'its partner {second_name} is already in a unit'
    if second.out_channels != first.out_channels:
        return (
            f'a pair must keep its width, and {second_name} goes '
            f'from {first.out_channels} to {second.out_channels} channels'
        )
    if set(second.stride) != {1} or second.dilation != first.dilation:
        return (
            f'a unit strides once and has one dilation, and {second_name} '
            f'has stride {tuple(second.stride)}, dilation '
            f'{tuple(second.dilation)}'
        )
    return ''


def replace_alone(
    model: nn.Module,
    name: str,
    conv: nn.Conv3d,
    m: int,
    n: int,
    norm_cfg: Dict,
    note: str = '',
) -> ReplacedLayer:
    """Replace one conv by a PmSCn unit of n 2D convs per stream.

    Args:
        model (nn.Module): The network, changed in place.
        name (str): The conv.
        conv (nn.Conv3d): The conv.
        m (int): Parallel streams.
        n (int): 2D convs per stream.
        norm_cfg (dict): The norm inside the streams.
        note (str): For the report. Defaults to ''.

    Returns:
        ReplacedLayer: The report's row.
    """
    unit = unit_for(conv, conv, m, n, 1, norm_cfg)
    set_module(model, name, unit)
    return ReplacedLayer(
        name,
        describe_conv(conv),
        f'P{m}SC{n}',
        count_params(conv),
        count_params(unit),
        note,
    )


def replace_pair(
    model: nn.Module,
    names: Tuple[str, str],
    chain: List[str],
    m: int,
    n: int,
    norm_cfg: Dict,
) -> ReplacedLayer:
    """Replace two convs, and the norms and activations between them, by
    one PmSCn unit.

    Args:
        model (nn.Module): The network, changed in place.
        names (tuple[str, str]): The two convs.
        chain (list[str]): The modules between them.
        m (int): Parallel streams.
        n (int): 2D convs per stream.
        norm_cfg (dict): The norm inside the streams.

    Returns:
        ReplacedLayer: The report's row.
    """
    first, second = (model.get_submodule(name) for name in names)
    unit = unit_for(first, second, m, n, 2, norm_cfg)
    old = count_params(first) + count_params(second)
    old += sum(count_params(model.get_submodule(c)) for c in chain)
    set_module(model, names[0], unit)
    for path in chain + [names[1]]:
        set_module(model, path, nn.Identity())
    return ReplacedLayer(
        f'{names[0]} + {names[1]}',
        f'{describe_conv(first)} + {describe_conv(second)}',
        f'P{m}SC{n}',
        old,
        count_params(unit),
    )


def convert_to_pmscn(
    model: nn.Module,
    m: int,
    n: int,
    include: Patterns = None,
    exclude: Patterns = None,
    input_shape: Optional[Sequence[int]] = None,
    replaces: Optional[int] = None,
    strict: bool = False,
) -> ConversionReport:
    """Replace selected convs by PmSCn units (P_m SC_n).

    PmSCn factorises the conv, so its weights start fresh (PyTorch's default
    initialisation) rather than from the replaced ones. Inside the streams
    the norm is of the kind :func:`network_norm_cfg` picks.

    When pairing (``replaces=2``), a conv without a partner (its output
    goes elsewhere than, through norms and activations alone, into a
    selected conv that keeps its width, strides by 1 and is not yet in a
    unit) becomes a P_m SC_1 unit of its own: the same m streams, one 2D
    conv each. The report notes why.

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
        strict (bool): Raise, naming the layer, for a selected conv that
            cannot be converted (or has fewer than m output channels) or,
            when pairing, has no partner; else skip the first and give the
            second a unit of its own. Defaults to False.

    Returns:
        ConversionReport: What was replaced, and what was skipped.
    """
    check_streams(m, n)
    replaces = min(n, 2) if replaces is None else replaces
    if replaces not in (1, 2) or replaces > n:
        raise ValueError(
            f'PmSCn: replaces must be 1, or 2 with n >= 2; '
            f'got replaces={replaces!r} with n={n}'
        )
    report = ConversionReport(f'P{m}SC{n}', count_params(model))
    layers = []
    for name, conv in convertible_convs(
        model, include, exclude, report, strict
    ):
        if conv.out_channels < m:
            reason = (
                f'its {conv.out_channels} output channel(s) cannot feed '
                f'{m} streams of a unit; exclude it or use a smaller m'
            )
            report.refuse(name, reason, strict)
        else:
            layers.append((name, conv))
    check_left(layers, report)
    norm_cfg = network_norm_cfg(model)
    if replaces == 1:
        report.layers += [
            replace_alone(model, name, conv, m, n, norm_cfg)
            for name, conv in layers
        ]
        return finish(model, report)
    trace = trace_model(model, input_shape or default_input_shape(model))
    selected, done = dict(layers), set()
    for name, first in layers:
        if name in done:
            continue
        second, chain, reason = paired_conv(trace, model, name, selected)
        if second is not None:
            reason = pair_refusal(first, second, selected[second], done)
        if reason and strict:
            label = name if second is None else f'{name} + {second}'
            raise ValueError(
                f'{label}: n >= 2 replaces pairs of consecutive convs, but '
                f'{reason}; exclude it or use n=1'
            )
        if reason:
            note = f'unpaired: {reason}'
            report.layers.append(
                replace_alone(model, name, first, m, 1, norm_cfg, note)
            )
            done.add(name)
            continue
        report.layers.append(
            replace_pair(model, (name, second), chain, m, n, norm_cfg)
        )
        done |= {name, second}
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


#: The op types made by converting a network's convs.
CONVERTED_OPS = tuple(name for name in OPS if not OPS.get(name).built)


def convert_network(
    model: nn.Module,
    op: OpSpec,
    include: Patterns = None,
    exclude: Patterns = None,
    input_shape: Optional[Sequence[int]] = None,
    strict: bool = False,
    add_norm: bool = False,
    replaces: Optional[int] = None,
    owner: Optional[str] = None,
) -> ConversionReport:
    """Convert the selected convs of ``model`` to ``op``, in place: the
    one entry point of the three conversions.

    Args:
        model (nn.Module): The network.
        op (dict): ``dict(type='cakes', arch=... | op_set=[...])``
            (:func:`convert_to_cakes`), ``dict(type='cakes_search',
            op_set=[...], mode=..., derive=...)``
            (:func:`convert_to_cakes_supernet`) or ``dict(type='pmscn',
            m=..., n=...)`` (:func:`convert_to_pmscn`).
        include, exclude, input_shape, strict: As for the conversions.
        add_norm (bool): ``cakes_search`` only; see
            :func:`convert_to_cakes_supernet`. Defaults to False.
        replaces (int, optional): ``pmscn`` only; see
            :func:`convert_to_pmscn`. Defaults to None.
        owner (str, optional): The caller's name, for messages. Defaults
            to the network's class name.

    Returns:
        ConversionReport: What was replaced.
    """
    owner = owner or type(model).__name__
    spec = parse_op(op, owner, CONVERTED_OPS)
    return OPS.get(spec['type']).convert(
        model,
        spec,
        include=include,
        exclude=exclude,
        input_shape=input_shape,
        strict=strict,
        add_norm=add_norm,
        replaces=replaces,
    )
