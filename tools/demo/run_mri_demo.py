"""The MRI demo: planar 2D, 3D, CAKES and PmSCn convs segment a real brain.

    python tools/demo/run_mri_demo.py [--work-dir work_dirs/mri_demo] \
        [--seed 0] [--png FILE] [--quick]

1. Labels the MNI ICBM152 2009a T1 template (shipped in the nilearn wheel)
   into background, CSF, grey and white matter at 2 mm under
   ``WORK_DIR/data``, with its attribution; the anterior half trains, the
   posterior 40% tests (never left/right: the template is symmetric).
2. Trains five versions of one small UNet from scratch with mmengine's
   runner, each with another op in its convs: planar 2D (every conv 3x3x1,
   axial), 3D, CAKES 2D (the three 2D orientations, channel-wise), CAKES
   1,2,3D (all seven sub-kernels) and PmSCn P2SC2.
3. Tests each on the posterior part by a sliding window, prints per-class
   Dice, mean Dice, params, GFLOPs (one window) and minutes, and writes a
   PNG of axial, coronal and sagittal slices with every prediction
   (``WORK_DIR/mri_demo.png`` unless ``--png``).

One torch thread trains while one data loader worker crops; the README and
docs/mri_demo.md give the table and minutes we measured. ``--quick`` is a
smoke run (two iterations per model) for the tests. The logic lives in
:mod:`cakes_mm.demo.mri_demo`.
"""

import argparse
import os
import os.path as osp
import sys
from typing import List

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'demo')


def parse_args(argv: List[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'mri_demo'),
        help='where data, logs, checkpoints and the PNG go '
        '(default: work_dirs/mri_demo)',
    )
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of training (default: 0)'
    )
    parser.add_argument(
        '--png',
        default=None,
        help='the slices PNG (default: WORK_DIR/mri_demo.png)',
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
        help='smoke run: two iterations per model',
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
    # Spinning OpenMP threads slow a shared 2-core machine down (see
    # run_demo.py); set before torch loads its OpenMP runtime.
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    import torch

    torch.set_num_threads(args.threads)
    import cakes_mm  # noqa: F401  (patches mmaction2, registers the models)
    from cakes_mm.extras import require_extra

    require_extra('volumetric', 'run_mri_demo.py')
    from cakes_mm.demo.mri_demo import run_mri_demo
    from cakes_mm.demo.progress import echo
    from cakes_mm.environment import silence_irrelevant_warnings

    if not args.verbose:
        silence_irrelevant_warnings()
    return run_mri_demo(args, CONFIGS, echo)


if __name__ == '__main__':
    main(sys.argv[1:])
