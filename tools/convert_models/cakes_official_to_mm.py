"""Convert a checkpoint released with the CAKES paper's code to cakes_mm.

    python tools/convert_models/cakes_official_to_mm.py SRC DST --arch NAME \
        [--num-classes 174] [--labels LABELS]

SRC is a checkpoint of the authors' code (github.com/yucornetto/CAKES),
e.g. ``8frame_CAKES123D_PerformancePriority.tar``. DST is written
atomically as an mmengine checkpoint (``state_dict`` and ``meta``) for
mmaction2's ``Recognizer3D`` with ``CAKESResNet(depth=50,
op=dict(type='cakes', arch=NAME))`` and ``I3DHead``, as in
``configs/_base_/models/cakes_r50.py``. NAME is a released arch
(``CAKES123D_P`` for the released weights) or ``c2d``, ``c3d``, ``p3d``
(``op=dict(type='conv2d' | 'conv3d' | 'p3d')``).

The authors' class indices are those of TRN's lists: the classes sorted by
name. LABELS, the class names in the order of your annotation lists' labels
(for sthv1 built by tools/data/sthv1/build_file_list.py, the official
``something-something-v1-labels.csv``), reorders the classifier to match.
See docs/authors_weights.md for testing the result.
"""

import argparse
import sys

import torch

from cakes_mm.checkpoint import (
    OfficialCheckpointError,
    convert_official_checkpoint,
    official_arch_names,
)
from cakes_mm.datasets import BadInputError
from cakes_mm.environment import silence_irrelevant_warnings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert a CAKES authors' checkpoint to cakes_mm"
    )
    parser.add_argument('src', help="the authors' checkpoint")
    parser.add_argument('dst', help='the mmengine checkpoint to write')
    parser.add_argument(
        '--arch',
        required=True,
        choices=official_arch_names(),
        help='the architecture the checkpoint was trained as',
    )
    parser.add_argument(
        '--num-classes',
        type=int,
        default=174,
        help='classes of the classifier (default: 174, '
        'Something-Something V1)',
    )
    parser.add_argument(
        '--labels',
        help='class names, one a line, in the order of your '
        "annotation lists' labels; without it the classes keep the authors' "
        'order (sorted names)',
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        count = convert_official_checkpoint(
            args.src, args.dst, args.arch, args.num_classes, args.labels
        )
    except (OfficialCheckpointError, BadInputError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    order = (
        f'in the order of {args.labels}'
        if args.labels
        else "in the authors' order (sorted names)"
    )
    print(
        f'converted {args.src} ({args.arch}, {args.num_classes} classes '
        f'{order}) to {args.dst}: {count} tensors'
    )
    return 0


if __name__ == '__main__':
    silence_irrelevant_warnings()
    torch.set_grad_enabled(False)
    sys.exit(main())
