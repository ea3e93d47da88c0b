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

the names ``configs/_base_/datasets/sthv1_rawframes_8x1x1.py`` expects.
Videos whose folder is missing or holds no frames are left out of the lists
and reported by name, as are folders with a gap in their numbering (listed
with the frames before the gap). A malformed line or an unknown class name
stops the script with the file and line.

Usage::

    python tools/data/sthv1/build_file_list.py data/sthv1/annotations \\
        data/sthv1/rawframes --out-dir data/sthv1
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, NamedTuple, Tuple

from cakes_mm.datasets import BadAnnotationError, read_annotation
from cakes_mm.fileio import atomic_write
from cakes_mm.environment import silence_irrelevant_warnings

LABELS_CSV = 'something-something-v1-labels.csv'
SPLITS = {
    'train': 'something-something-v1-train.csv',
    'val': 'something-something-v1-validation.csv',
}


class FrameReport(NamedTuple):
    """Folders that did not make it into the lists (or only in part)."""

    missing: List[str]
    empty: List[str]
    gaps: List[Tuple[str, int]]


def read_class_names(path: str) -> Dict[str, int]:
    """Class name -> 0-based label, in the labels file's line order."""
    labels = {}
    for line in read_annotation(path, delimiter=';'):
        line.expect_fields(['class name'])
        name = line.fields[0]
        if name in labels:
            raise line.error(f'class {name!r} is listed twice')
        labels[name] = len(labels)
    return labels


def read_split(path: str, labels: Dict[str, int]) -> List[Tuple[str, int]]:
    """(video id, label) of every line of a split file."""
    videos = []
    for line in read_annotation(path, delimiter=';'):
        line.expect_fields(['video id', 'class name'])
        video, name = line.fields
        if name not in labels:
            raise line.error(f'unknown class {name!r} (not in {LABELS_CSV})')
        videos.append((video, labels[name]))
    return videos


def count_frames(folder: str, filename_tmpl: str, start_index: int) -> Tuple[
        int, int]:
    """(contiguous frames from ``start_index``, all files) of a folder."""
    names = set(os.listdir(folder))
    count = 0
    while filename_tmpl.format(start_index + count) in names:
        count += 1
    return count, len(names)


def frame_list(videos: List[Tuple[str, int]], frames_dir: str,
               filename_tmpl: str, start_index: int,
               report: FrameReport) -> List[str]:
    """``<video> <frames> <label>`` lines; problems go to ``report``."""
    lines = []
    for video, label in videos:
        folder = osp.join(frames_dir, video)
        if not osp.isdir(folder):
            report.missing.append(video)
            continue
        count, files = count_frames(folder, filename_tmpl, start_index)
        if count == 0:
            report.empty.append(video)
            continue
        if count < files:
            report.gaps.append((video, count))
        lines.append(f'{video} {count} {label}')
    return lines


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
        labels = read_class_names(osp.join(args.ann_dir, LABELS_CSV))
        splits = {split: read_split(osp.join(args.ann_dir, name), labels)
                  for split, name in SPLITS.items()}
    except BadAnnotationError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    report = FrameReport([], [], [])
    lists = {split: frame_list(videos, args.frames_dir, args.filename_tmpl,
                               args.start_index, report)
             for split, videos in splits.items()}
    print_report(report)
    if not any(lists.values()):
        print(f'error: none of the videos has frames in {args.frames_dir}; '
              'nothing written', file=sys.stderr)
        return 1
    for split, lines in lists.items():
        path = osp.join(out_dir, f'sthv1_{split}_list_rawframes.txt')
        atomic_write(path, ''.join(f'{line}\n' for line in lines))
        print(f'{path}: {len(lines)} of {len(splits[split])} videos')
    return 0


if __name__ == '__main__':
    silence_irrelevant_warnings()
    sys.exit(main())
