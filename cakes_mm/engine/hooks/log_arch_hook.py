"""Log and visualise how a CAKES search's layers share their channels
among the candidate ops."""

from typing import Dict, List, Tuple

from mmaction.registry import HOOKS

from ...models.arch import Arch
from ...models.layers import spanned_axes
from ...models.search import CAKESSearchConv3d
from ...models.utils import unwrap_model
from .search_interval_hook import SearchIntervalHook
from .search_state import derive_arch, progress, searched_layers


def axis_counts(arch: Arch) -> Tuple[int, int, int]:
    """How many chosen op channels span each of the three axes.

    A channel counts once for every axis its sub-kernel spans (a 3x3x3 op
    for all three, 1x3x3 for the last two), as in the CAKES paper §4.3.

    Args:
        arch (list[dict[str, int]]): Op name to channel count, per layer.

    Returns:
        tuple[int, int, int]: The counts, axis by axis.
    """
    counts = [0, 0, 0]
    for choice in arch:
        for op, channels in choice.items():
            for axis, spans in enumerate(spanned_axes(op)):
                counts[axis] += channels * spans
    return tuple(counts)


def arch_scalars(
    layers: List[Tuple[str, CAKESSearchConv3d]], arch: Arch
) -> Dict[str, float]:
    """Per-layer op shares and α means, plus overall op shares.

    Args:
        layers (list[tuple[str, CAKESSearchConv3d]]): The searched layers.
        arch (list[dict[str, int]]): Their derived choice, layer by layer.

    Returns:
        dict[str, float]: ``search/{layer}/share_{op}``,
        ``search/{layer}/alpha_mean_{op}`` and ``search/share_{op}``.
    """
    scalars, totals = {}, {}
    for (name, layer), choice in zip(layers, arch):
        width = sum(choice.values())
        alpha = layer.alpha
        for o, (op, count) in enumerate(choice.items()):
            scalars[f'search/{name}/share_{op}'] = count / width
            scalars[f'search/{name}/alpha_mean_{op}'] = float(alpha[o].mean())
            totals[op] = totals.get(op, 0) + count
    channels = sum(totals.values())
    scalars.update(
        {f'search/share_{op}': n / channels for op, n in totals.items()}
    )
    return scalars


@HOOKS.register_module()
class LogArchHook(SearchIntervalHook):
    """Log the architecture a CAKES search currently derives.

    Every ``interval`` it logs each searched layer's op shares and α
    statistics, and sends them as scalars (:func:`arch_scalars`) to the
    visualizer's backends. On a model with ``axis_names`` (the volumetric
    segmentors: D, H, W) it adds how many chosen op channels span each
    axis (``search/axis_D``, ...). When α is not finite it logs an error
    instead.

    :class:`CAKESSearchHook` includes this hook.

    Args:
        interval (int): Log every ``interval`` epochs (or iterations).
            Defaults to 1.
        by_epoch (bool): Whether ``interval`` counts epochs. Defaults to
            True.
    """

    def act(self, runner, when: str) -> None:
        """Log op shares and α statistics; send them as scalars."""
        layers = searched_layers(runner, type(self).__name__)
        arch = derive_arch(runner)
        if arch is None:
            return
        scalars = arch_scalars(layers, arch)
        lines = [f'{progress(runner)}: op shares and alpha per layer']
        axes = getattr(unwrap_model(runner.model), 'axis_names', None)
        if axes:
            counts = dict(zip(axes, axis_counts(arch)))
            scalars.update(
                {f'search/axis_{axis}': n for axis, n in counts.items()}
            )
            lines[0] += '; op channels spanning ' + ', '.join(
                f'{axis} {n}' for axis, n in counts.items()
            )
        for (layer_name, layer), choice in zip(layers, arch):
            width = sum(choice.values())
            shares = ' '.join(
                f'{op} {n / width:.2f}' for op, n in choice.items()
            )
            alpha = layer.alpha
            lines.append(
                f'  {layer_name}: {shares} | alpha mean '
                f'{alpha.mean():.3f} max {alpha.max():.3f}'
            )
        runner.logger.info('\n'.join(lines))
        runner.visualizer.add_scalars(scalars, step=runner.iter + 1)
