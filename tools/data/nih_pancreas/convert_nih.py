"""Turn NIH Pancreas-CT into a Decathlon-layout dataset with 4 folds.

Pairs ``IMAGES/PANCREAS_<NNNN>`` (a NIfTI file, or a folder holding one
NIfTI image: convert DICOM series first, e.g. with ``dcm2niix``) with
``LABELS/label<NNNN>.nii.gz``, checks every pair (readable, same shape and
affine, label values 0 and 1), copies them to
``OUT/imagesTr/pancreas_<NNNN>.nii.gz`` and ``OUT/labelsTr/...`` and
writes ``OUT/dataset.json``, whose ``training`` entries carry ``fold``: the
paper's 4-fold cross-validation, patients in number order cut into 4
contiguous blocks (82 patients: 21, 20, 21, 20). Each problem is printed as
one line naming the file; then the exit status is 1 and no dataset.json is
written. Every file is written atomically.

Usage::

    python tools/data/nih_pancreas/convert_nih.py data/Pancreas-CT \\
        data/TCIA_pancreas_labels-02-05-2017 --out data/nih_pancreas

Train on folds 1-3 and validate on fold 0 with ``MSDDataset`` and
``fold=0, num_folds=4``.
"""
import argparse
import sys

from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.extras import require_extra

require_extra('volumetric', 'convert_nih.py')
from cakes_mm.datasets.volumetric.nih_pancreas import convert_nih  # noqa: E402


def main(argv=None) -> int:
    """Convert; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('images', help='folder of PANCREAS_<NNNN> entries')
    parser.add_argument('labels', help='folder of label<NNNN>.nii.gz files')
    parser.add_argument('--out', required=True, help='output folder')
    args = parser.parse_args(argv)
    problems = convert_nih(args.images, args.labels, args.out,
                           echo=lambda line: print(line, flush=True))
    for problem in problems:
        print(f'error: {problem}', file=sys.stderr)
    if problems:
        print(f'{len(problems)} problem(s) (no dataset.json written)',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    silence_irrelevant_warnings()
    sys.exit(main())
