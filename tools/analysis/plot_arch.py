"""Draw a CAKES architecture as the paper's Fig. 4/5: one stacked bar per
layer giving the share of each sub-kernel.

    python tools/analysis/plot_arch.py ARCH --out arch.png [--num-classes 174]
    python tools/analysis/plot_arch.py ARCH --out arch.png --config CONFIG \
        [--cfg-options model.network.op.arch=ARCH]

ARCH is a JSON file or a released name such as CAKES123D_P. Without
``--config``, an arch of the CAKES ResNet-50 is drawn with its block names
and the params and GFLOPs of the recognizer at 8x224x224 in the title, and
any other arch (e.g. the 17 layers of a C2FNAS search) with its layer
indices. With ``--config``, the config's model must use ARCH (its fixed
CAKES layers, in module order, must hold ARCH's choices; set it with
``--cfg-options``): the bars carry those layers' names and the title the
model's params and GFLOPs on the config's input (one sliding window for a
segmentor).
"""

import argparse
import os.path as osp
from typing import List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from mmaction.registry import MODELS  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import cakes_mm  # noqa: E402,F401
from cakes_mm.analysis import default_input_shape, model_complexity  # noqa: E402
from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.models import CAKESConv3d, released_archs  # noqa: E402
from cakes_mm.models.arch import Arch, read_arch_file, validate_arch  # noqa: E402

COLOURS = {
    'kxkxk': '#d62728',
    '1xkxk': '#1f77b4',
    'kx1x1': '#2ca02c',
    'kxkx1': '#9467bd',
    'kx1xk': '#8c564b',
    '1xkx1': '#e377c2',
    '1x1xk': '#7f7f7f',
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot a CAKES arch')
    parser.add_argument('arch', help='arch JSON file or released name')
    parser.add_argument('--out', required=True, help='image to write')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=174,
        help='classes of the ResNet head counted in the title',
    )
    parser.add_argument(
        '--config',
        help='a config whose model uses ARCH: '
        'names the bars, and gives the title params and '
        'GFLOPs',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.network.op.arch=ARCH',
    )
    return parser.parse_args()


def read_any_arch(spec: str) -> Arch:
    """A released arch or an arch JSON file, checked for its own widths."""
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


def resnet_bars(args: argparse.Namespace) -> Tuple[Arch, List[str], str]:
    """The arch, block names and title of a CAKES ResNet-50 arch."""
    model = MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(type='CAKESResNet', arch=args.arch),
            cls_head=dict(
                type='I3DHead', num_classes=args.num_classes, in_channels=2048
            ),
        )
    )
    complexity = model_complexity(model, (1, 3, 8, 224, 224))
    title = (
        f'{args.arch}: {complexity.params_m:.1f} M params, '
        f'{complexity.gflops:.1f} GFLOPs (8x224², '
        f'{args.num_classes} classes)'
    )
    return model.backbone.arch, model.backbone.block_names, title


def config_bars(args: argparse.Namespace, arch: Arch) -> Tuple[List[str], str]:
    """Layer names and title from a config whose model uses ``arch``."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model)
    layers = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, CAKESConv3d)
    ]
    if [module.choice for _, module in layers] != arch:
        raise SystemExit(
            f'error: the model of {args.config} does not use {args.arch} '
            f'(its {len(layers)} CAKES layers choose otherwise); set the '
            f'arch with --cfg-options, e.g. model.network.op.arch='
            f'{args.arch}'
        )
    shape = default_input_shape(cfg)
    complexity = model_complexity(model, shape)
    title = (
        f'{osp.basename(args.config)}: {complexity.params_m:.2f} M '
        f'params, {complexity.gflops:.2f} GFLOPs '
        f'({"x".join(map(str, shape))})'
    )
    return [name for name, _ in layers], title


def draw(arch: Arch, names: List[str], title: str, out: str) -> None:
    """One stacked bar of sub-kernel shares per layer."""
    ops = list(dict.fromkeys(op for block in arch for op in block))
    fig, ax = plt.subplots(figsize=(max(10, len(arch) * 0.45), 4))
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


def main() -> None:
    args = parse_args()
    init_default_scope('mmaction')
    # Building a converted network would log its conversion report.
    MMLogger.get_instance('plot_arch', log_level='WARNING')
    if args.config:
        arch = read_any_arch(args.arch)
        names, title = config_bars(args, arch)
    else:
        try:
            arch, names, title = resnet_bars(args)
        except ValueError:  # not a ResNet-50 arch: any other network's
            arch = read_any_arch(args.arch)
            names = [str(index) for index in range(len(arch))]
            channels = sum(sum(block.values()) for block in arch)
            title = (
                f'{osp.basename(args.arch)}: {len(arch)} layers, '
                f'{channels} output channels'
            )
    draw(arch, names, title, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main()
