"""Draw a CAKES architecture as the paper's Fig. 4/5: one stacked bar per
layer giving the share of each sub-kernel.

    python tools/analysis/plot_arch.py ARCH --out arch.png [--num-classes 174]

ARCH is a JSON file or a released name such as CAKES123D_P. The title gives
the params and GFLOPs of the ResNet-50 recognizer at 8x224x224.
"""
import argparse

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import cakes_mm  # noqa: E402,F401
from cakes_mm.analysis import model_complexity  # noqa: E402
from mmaction.registry import MODELS  # noqa: E402

COLOURS = {'kxkxk': '#d62728', '1xkxk': '#1f77b4', 'kx1x1': '#2ca02c',
           'kxkx1': '#9467bd', 'kx1xk': '#8c564b', '1xkx1': '#e377c2',
           '1x1xk': '#7f7f7f'}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot a CAKES arch')
    parser.add_argument('arch', help='arch JSON file or released name')
    parser.add_argument('--out', required=True, help='image to write')
    parser.add_argument('--num-classes', type=int, default=174,
                        help='classes of the head counted in the title')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    init_default_scope('mmaction')
    model = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='CAKESResNet', arch=args.arch),
        cls_head=dict(type='I3DHead', num_classes=args.num_classes,
                      in_channels=2048)))
    backbone = model.backbone
    complexity = model_complexity(model, (1, 3, 8, 224, 224))
    ops = list(dict.fromkeys(op for block in backbone.arch for op in block))
    fig, ax = plt.subplots(figsize=(10, 4))
    bottoms = [0.0] * len(backbone.arch)
    for op in ops:
        shares = [block.get(op, 0) / sum(block.values())
                  for block in backbone.arch]
        ax.bar(range(len(shares)), shares, bottom=bottoms, label=op,
               color=COLOURS[op])
        bottoms = [b + s for b, s in zip(bottoms, shares)]
    ax.set_xticks(range(len(backbone.block_names)))
    ax.set_xticklabels(backbone.block_names, rotation=60, fontsize=8)
    ax.set_ylabel('share of output channels')
    ax.set_ylim(0, 1)
    ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f'{args.arch}: {complexity.params_m:.1f} M params, '
                 f'{complexity.gflops:.1f} GFLOPs (8x224², '
                 f'{args.num_classes} classes)')
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
