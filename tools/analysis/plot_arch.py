"""Draw a CAKES architecture as the paper's Fig. 4/5: one stacked bar per
layer giving the share of each sub-kernel.

    python tools/analysis/plot_arch.py ARCH --out arch.png [--num-classes 174]
    python tools/analysis/plot_arch.py ARCH --out arch.png --config CONFIG \
        [--cfg-options model.backbone.arch=ARCH]

ARCH is a JSON file or a released name such as CAKES123D_P. Without
``--config``, an arch of the CAKES ResNet-50 is drawn with its block names
and the params and GFLOPs of the recognizer at 8x224x224 in the title, and
any other arch (e.g. the 17 layers of a C2FNAS search) with its layer
indices. With ``--config``, the config's model must use ARCH (its fixed
CAKES layers, in module order, must hold ARCH's choices; set it with
``--cfg-options``, ``model.backbone.arch`` for a recognizer,
``model.network.op.arch`` or ``model.network.arch`` for a segmentor): the
bars carry those layers' names and the title the model's params and GFLOPs
on the config's input (one sliding window for a segmentor). The bars and
the figure are :mod:`cakes_mm.analysis.arch_plot`'s. A config whose model
does not use ARCH ends with one line, naming the key that sets its arch,
and exit status 1.
"""

import argparse

from mmengine.config import DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import cakes_mm  # noqa: F401  (registers the models, patches mmaction2)
from cakes_mm.analysis.arch_plot import arch_bars, draw
from cakes_mm.apis.runner import run_reporting_bad_input
from cakes_mm.environment import silence_irrelevant_warnings


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
        help='override config entries, e.g. model.backbone.arch=ARCH '
        '(a recognizer) or model.network.op.arch=ARCH (a segmentor)',
    )
    return parser.parse_args()


def main() -> None:
    """Draw the arch and say where."""
    args = parse_args()
    init_default_scope('mmaction')
    # Building a converted network would log its conversion report.
    MMLogger.get_instance('plot_arch', log_level='WARNING')
    arch, names, title = arch_bars(
        args.arch, args.num_classes, args.config, args.cfg_options
    )
    draw(arch, names, title, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    silence_irrelevant_warnings()
    run_reporting_bad_input(main)
