"""Build mmaction2 rawframe lists for Something-Something V1.

Reads the official label files from ANN_DIR (``;``-separated)::

    something-something-v1-labels.csv      one class name a line, in label order
    something-something-v1-train.csv       <video id>;<class name>
    something-something-v1-validation.csv  <video id>;<class name>

counts the frames of every video in FRAMES_DIR/<video id>/ itself
(``00001.jpg``, ``00002.jpg``, ... : the contiguous run from
``--start-index``) and writes, atomically, one ``<video id> <frames>
<label>`` a line::

    OUT_DIR/sthv1_train_list_rawframes.txt
    OUT_DIR/sthv1_val_list_rawframes.txt

the names ``configs/_base_/datasets/sthv1-rgb_rawframes_u8.py`` expects.
Videos whose folder is missing or holds no frames are left out of the lists
and reported by name, as are folders with a gap in their numbering (listed
with the frames before the gap). A malformed line or an unknown class name
stops the script with the file and line. The lists are
:mod:`cakes_mm.datasets.sthv1_lists`'s.

Usage::

    python tools/data/sthv1/build_file_list.py data/sthv1/annotations \\
        data/sthv1/rawframes --out-dir data/sthv1
"""
import argparse
import os
import os.path as osp
import sys

from cakes_mm.datasets import BadAnnotationError
from cakes_mm.datasets.sthv1_lists import (
    FrameReport,
    sthv1_frame_lists,
    write_frame_lists,
)
from cakes_mm.environment import silence_irrelevant_warnings


def print_report(report: FrameReport) -> None:
    """List the problem folders on stderr, by name."""
    for title, names in (('missing frame folders', report.missing),
                         ('empty frame folders', report.empty)):
        if names:
            print(f'{len(names)} {title} (left out):', file=sys.stderr)
            print('\n'.join(f'  {name}' for name in names), file=sys.stderr)
    if report.gaps:
        print(f'{len(report.gaps)} frame folders with a gap in their '
              'numbering (listed with the frames before the gap):',
              file=sys.stderr)
        print('\n'.join(f'  {name}: {count} frames'
                        for name, count in report.gaps), file=sys.stderr)


def main(argv=None) -> int:
    """Build the lists; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ann_dir', help='folder of the official CSV files')
    parser.add_argument('frames_dir', help='folder of <video id>/ folders')
    parser.add_argument('--out-dir', help='where the lists go; defaults '
                        'to the parent of FRAMES_DIR')
    parser.add_argument('--filename-tmpl', default='{:05}.jpg',
                        help='frame file names. Defaults to {:05}.jpg')
    parser.add_argument('--start-index', type=int, default=1,
                        help='number of the first frame. Defaults to 1')
    args = parser.parse_args(argv)
    if not osp.isdir(args.frames_dir):
        print(f'error: frames folder not found: {args.frames_dir}',
              file=sys.stderr)
        return 1
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.frames_dir))
    os.makedirs(out_dir, exist_ok=True)
    try:
        found = sthv1_frame_lists(args.ann_dir, args.frames_dir,
                                  args.filename_tmpl, args.start_index)
    except BadAnnotationError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print_report(found.report)
    if not any(found.lists.values()):
        print(f'error: none of the videos has frames in {args.frames_dir}; '
              'nothing written', file=sys.stderr)
        return 1
    paths = write_frame_lists(found.lists, out_dir)
    for path, (split, lines) in zip(paths, found.lists.items()):
        print(f'{path}: {len(lines)} of {found.totals[split]} videos')
    return 0


if __name__ == '__main__':
    silence_irrelevant_warnings()
    sys.exit(main())
