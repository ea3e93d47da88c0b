"""List the videos of an annotation file that decord cannot open or decode.

Each video is opened the way mmaction2's ``DecordInit`` opens it (the
file's bytes through decord), and its first, middle and last frames are
decoded (``--all-frames``: every frame). Every failure is printed as
``<path>: <reason>``; the exit status is 1 if any video failed.

Usage::

    python tools/data/check_videos.py ANN_FILE PREFIX [--num-workers N]
        [--all-frames]

ANN_FILE holds ``<video> <label>`` lines with paths relative to PREFIX.
The checks are :mod:`cakes_mm.datasets.video_check`'s.
"""
import argparse
import os.path as osp
import sys

from cakes_mm.datasets import BadAnnotationError, read_annotation
from cakes_mm.datasets.video_check import unreadable_videos
from cakes_mm.environment import silence_irrelevant_warnings


def main(argv=None) -> int:
    """Check the videos; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ann_file', help='annotation list (<video> <label>)')
    parser.add_argument('prefix', help='folder the video paths start from')
    parser.add_argument('--num-workers', type=int, default=1,
                        help='parallel processes. Defaults to 1')
    parser.add_argument('--all-frames', action='store_true',
                        help='decode every frame, not only three')
    args = parser.parse_args(argv)
    try:
        lines = read_annotation(args.ann_file)
    except BadAnnotationError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    paths = [osp.join(args.prefix, line.fields[0]) for line in lines]
    bad = unreadable_videos(paths, args.all_frames, args.num_workers)
    for path, reason in bad:
        print(f'{path}: {reason}')
    print(f'{len(bad)} of {len(paths)} videos cannot be read by decord',
          file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    silence_irrelevant_warnings()
    sys.exit(main())
