"""Build mmaction2 annotation lists for UCF101 from its official split files.

The official ``ucfTrainTestlist`` folder holds ``classInd.txt`` (``1
ApplyEyeMakeup``, one class a line, 1-based), ``trainlist0{s}.txt``
(``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``) and ``testlist0{s}.txt``
(the path only). This script writes mmaction2's ``VideoDataset`` lists, one
``<path> <0-based label>`` a line::

    ucf101_train_split_{s}_videos.txt
    ucf101_val_split_{s}_videos.txt

Every video's class is read from its folder name (matched to ``classInd.txt``
ignoring case); where the train list also gives a label, the two must agree.
A malformed line stops the script with its file and line number. The lists
are written atomically. The parsing is
:mod:`cakes_mm.datasets.ucf101_lists`'s.

Usage::

    python tools/data/ucf101/build_file_list.py data/ucf101/ucfTrainTestlist \\
        --split 1 --out-dir data/ucf101
"""
import argparse
import os.path as osp
from typing import Optional, Sequence

from cakes_mm.datasets.ucf101_lists import build_file_lists
from cakes_mm.environment import silence_irrelevant_warnings


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Build mmaction2 video lists from the official UCF101 '
        'classInd.txt, trainlist0N.txt and testlist0N.txt.')
    parser.add_argument('ann_dir', help='folder of the official split files')
    parser.add_argument('--split', type=int, default=1, choices=(1, 2, 3),
                        help='official split (default: 1)')
    parser.add_argument('--out-dir', default=None,
                        help='output folder (default: the parent of ann_dir)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Build the lists and print their paths and sizes."""
    args = parse_args(argv)
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.ann_dir))
    for path in build_file_lists(args.ann_dir, args.split, out_dir):
        with open(path, encoding='utf-8') as file:
            print(f'{path}: {sum(1 for _ in file)} videos')


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main()
