"""The one-command demo: C2D cannot tell the direction of motion, CAKES can.

    python tools/demo/run_demo.py [--work-dir work_dirs/demo] [--quick]

1. Writes the built-in synthetic motion dataset (``cakes_mm.demo.synthetic``)
   under ``WORK_DIR/data``: mp4 clips whose classes differ only in temporal
   direction, so a frame-by-frame model is capped at 50% top-1.
2. Trains each model of :data:`DEMO_MODELS` from scratch with mmengine's
   runner, in this process, into ``WORK_DIR/<key>``.
3. Tests each with 2 clips per video (softmax averaged) and prints a table of
   params, GFLOPs (multiply-adds of one 8x32x32 clip) and top-1.

One torch thread trains while one data loader worker decodes; the README
gives the table and minutes we measured. ``--quick`` is a smoke run (a
few clips, one epoch) for the tests. The logic lives in
:mod:`cakes_mm.demo.video_demo`.
"""

import argparse
import os
import os.path as osp
import sys
from typing import List

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'demo')
RECOGNIZE = osp.join(REPO, 'tools', 'demo', 'recognize.py')


def parse_args(argv: List[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'demo'),
        help='where data, logs and checkpoints go (default: work_dirs/demo)',
    )
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the dataset and of training (default: 0)',
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch CPU threads (default: 1; the data '
        'loader worker takes the second core)',
    )
    parser.add_argument(
        '--quick',
        action='store_true',
        help='smoke run: a few clips per class, one epoch',
    )
    parser.add_argument(
        '--verbose',
        action='store_true',
        help="show mmengine's full INFO log on the console",
    )
    return parser.parse_args(argv)


def main(argv: List[str]):
    """Run the demo; returns the results by model key."""
    args = parse_args(argv)
    # OpenMP threads that spin while a busy machine has descheduled their
    # siblings made a training step tens of times slower on a shared 2-core
    # machine; sleeping ones do not.
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    import torch

    torch.set_num_threads(args.threads)
    import cakes_mm  # noqa: F401  (patches mmaction2, registers the models)
    from cakes_mm.demo.progress import echo
    from cakes_mm.environment import silence_irrelevant_warnings

    if not args.verbose:
        silence_irrelevant_warnings()
    from cakes_mm.demo.video_demo import run_video_demo

    return run_video_demo(args, CONFIGS, RECOGNIZE, echo)


if __name__ == '__main__':
    main(sys.argv[1:])
