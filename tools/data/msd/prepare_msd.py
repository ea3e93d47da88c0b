"""Check a Medical Segmentation Decathlon task folder and resample it.

Every image/label pair listed in the task's ``dataset.json`` (``training``,
and ``validation`` or ``test`` where they list pairs) is read once and
checked: both NIfTI files readable, the same shape and affine, label values
among the declared ``labels``. Each problem is printed as one line naming
the file and the json entry; the exit status is 1 if there was any.

With ``--out``, each good pair is also resampled (image trilinear, label
nearest, with MONAI's ``Spacingd``) to ``--spacing`` (default: the paper's
1 mm isotropic) and written to the same relative path under OUT, each file
atomically. OUT's ``dataset.json`` (the input's, with the written pairs and
the new ``spacing``) is written last, and only when every pair passed. An
MSD ``test`` list of bare image paths (no labels) is left out.

Usage::

    python tools/data/msd/prepare_msd.py data/Task07_Pancreas \\
        [--out data/Task07_Pancreas_1mm] [--spacing 1 1 1]
"""
import argparse
import sys

from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.extras import require_extra

require_extra('volumetric', 'prepare_msd.py')
from cakes_mm.datasets.volumetric.msd_tools import PAPER_SPACING, prepare_task  # noqa: E402


def main(argv=None) -> int:
    """Check (and resample) the task; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('task_dir', help='folder with dataset.json')
    parser.add_argument('--out', help='write the resampled task here; '
                        'without it, only check')
    parser.add_argument('--spacing', type=float, nargs=3,
                        default=list(PAPER_SPACING), metavar='MM',
                        help='new voxel sizes in mm. Defaults to 1 1 1')
    parser.add_argument('--json', default='dataset.json',
                        help='the index file. Defaults to dataset.json')
    args = parser.parse_args(argv)
    problems = prepare_task(args.task_dir, args.out, args.spacing, args.json,
                            echo=lambda line: print(line, flush=True))
    for problem in problems:
        print(f'error: {problem}', file=sys.stderr)
    if problems:
        written = ' (no dataset.json written)' if args.out else ''
        print(f'{len(problems)} problem(s){written}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    silence_irrelevant_warnings()
    sys.exit(main())
