"""A CAKES arch as one stacked bar of sub-kernel shares per layer.

:func:`arch_bars` gives the arch, the bars' names and a title saying what
the model costs; :func:`draw` writes the figure. ``tools/analysis/
plot_arch.py`` runs both. Not imported by ``import cakes_mm``.
"""

import os.path as osp
from typing import List, Optional, Tuple

from matplotlib.figure import Figure
from mmaction.registry import MODELS

from ..apis.pipeline import UnsupportedConfigError
from ..config_names import read_config
from ..input_shape import default_input_shape
from ..models import CAKESConv3d, released_archs
from ..models.arch import Arch, read_arch_file, validate_arch
from .complexity import model_complexity

#: The colour of each sub-kernel shape.
COLOURS = {
    'kxkxk': '#d62728',
    '1xkxk': '#1f77b4',
    'kx1x1': '#2ca02c',
    'kxkx1': '#9467bd',
    'kx1xk': '#8c564b',
    '1xkx1': '#e377c2',
    '1x1xk': '#7f7f7f',
}
#: The input a CAKES ResNet-50 arch is counted on.
RESNET_INPUT = (1, 3, 8, 224, 224)

Bars = Tuple[Arch, List[str], str]


def read_any_arch(spec: str) -> Arch:
    """A released arch or an arch JSON file, checked for its own widths.

    Args:
        spec (str): A released arch's name or an arch file.

    Returns:
        Arch: The arch.
    """
    arch = released_archs().get(spec)
    if arch is None:
        arch = read_arch_file(spec)
    blocks = arch if isinstance(arch, list) else []
    widths = [
        sum(block.values()) if isinstance(block, dict) else 0
        for block in blocks
    ]
    return validate_arch(
        arch, widths, [str(i) for i in range(len(widths))], spec
    )


def resnet_bars(spec: str, num_classes: int) -> Bars:
    """The arch, block names and title of a CAKES ResNet-50 arch.

    Args:
        spec (str): A released arch's name or an arch file.
        num_classes (int): Classes of the head counted in the title.

    Returns:
        tuple: The arch, its block names and the title.

    Raises:
        ValueError: When the arch is not a ResNet-50's.
    """
    model = MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(
                type='CAKESResNet', op=dict(type='cakes', arch=spec)
            ),
            cls_head=dict(
                type='I3DHead', num_classes=num_classes, in_channels=2048
            ),
        )
    )
    complexity = model_complexity(model, RESNET_INPUT)
    title = (
        f'{spec}: {complexity.params_m:.1f} M params, '
        f'{complexity.gflops:.1f} GFLOPs (8x224², '
        f'{num_classes} classes)'
    )
    return model.backbone.arch, model.backbone.block_names, title


def arch_option(model_cfg: dict) -> Optional[str]:
    """The ``--cfg-options`` key that sets the arch of a config's model,
    from the model's structure.

    Args:
        model_cfg (dict): The config's ``model``.

    Returns:
        str | None: ``'model.backbone.arch'`` for a recognizer (a
        backbone), ``'model.network.op.arch'`` for a segmentor whose
        network takes an ``op``, ``'model.network.arch'`` for one whose
        network takes the arch itself (a converted network); None for any
        other model.
    """
    if 'backbone' in model_cfg:
        return 'model.backbone.arch'
    network = model_cfg.get('network')
    if not isinstance(network, dict):
        return None
    if 'op' in network and 'arch' not in network:
        return 'model.network.op.arch'
    return 'model.network.arch'


def config_bars(
    spec: str, config: str, cfg_options: Optional[dict] = None
) -> Bars:
    """The arch, layer names and title from a config whose model uses it.

    Args:
        spec (str): A released arch's name or an arch file.
        config (str): The config.
        cfg_options (dict, optional): Config overrides. Defaults to None.

    Returns:
        tuple: The arch, the model's CAKES layer names and the title.

    Raises:
        UnsupportedConfigError: When the model's CAKES layers choose
            another arch.
    """
    arch = read_any_arch(spec)
    cfg = read_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = MODELS.build(cfg.model)
    layers = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, CAKESConv3d)
    ]
    if [module.choice for _, module in layers] != arch:
        option = arch_option(cfg.model)
        example = f', e.g. {option}={spec}' if option else ''
        raise UnsupportedConfigError(
            f'the model of {config} does not use {spec} '
            f'(its {len(layers)} CAKES layers choose otherwise); set the '
            f'arch with --cfg-options{example}'
        )
    shape = default_input_shape(cfg)
    complexity = model_complexity(model, shape)
    title = (
        f'{osp.basename(config)}: {complexity.params_m:.2f} M '
        f'params, {complexity.gflops:.2f} GFLOPs '
        f'({"x".join(map(str, shape))})'
    )
    return arch, [name for name, _ in layers], title


def arch_bars(
    spec: str,
    num_classes: int = 174,
    config: Optional[str] = None,
    cfg_options: Optional[dict] = None,
) -> Bars:
    """The arch, its bars' names and a title.

    With a config, the bars are the model's CAKES layers and the title its
    cost (:func:`config_bars`). Without, a ResNet-50 arch is named and
    counted as a CAKES ResNet-50 (:func:`resnet_bars`), and any other arch
    gets numbered bars and its layer and channel counts.

    Args:
        spec (str): A released arch's name or an arch file.
        num_classes (int): Classes of a ResNet head. Defaults to 174.
        config (str, optional): A config whose model uses the arch.
            Defaults to None.
        cfg_options (dict, optional): Its overrides. Defaults to None.

    Returns:
        tuple: The arch, the bars' names and the title.
    """
    if config:
        return config_bars(spec, config, cfg_options)
    try:
        return resnet_bars(spec, num_classes)
    except ValueError:  # not a ResNet-50 arch: any other network's
        arch = read_any_arch(spec)
        channels = sum(sum(block.values()) for block in arch)
        title = (
            f'{osp.basename(spec)}: {len(arch)} layers, '
            f'{channels} output channels'
        )
        return arch, [str(index) for index in range(len(arch))], title


def draw(arch: Arch, names: List[str], title: str, out: str) -> None:
    """Write one stacked bar of sub-kernel shares per layer.

    Args:
        arch (Arch): The arch.
        names (list[str]): The bars' names.
        title (str): The figure's title.
        out (str): The image to write.
    """
    ops = list(dict.fromkeys(op for block in arch for op in block))
    fig = Figure(figsize=(max(10, len(arch) * 0.45), 4))
    ax = fig.subplots()
    bottoms = [0.0] * len(arch)
    for op in ops:
        shares = [block.get(op, 0) / sum(block.values()) for block in arch]
        ax.bar(
            range(len(shares)),
            shares,
            bottom=bottoms,
            label=op,
            color=COLOURS[op],
        )
        bottoms = [b + s for b, s in zip(bottoms, shares)]
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha='right', fontsize=8)
    ax.set_ylabel('share of output channels')
    ax.set_ylim(0, 1)
    ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
