"""List the videos of an annotation file that decord cannot open or decode.

Each video is opened the way mmaction2's ``DecordInit`` opens it (the
file's bytes through decord), and its first, middle and last frames are
decoded (``--all-frames``: every frame). Every failure is printed as
``<path>: <reason>``; the exit status is 1 if any video failed.

Usage::

    python tools/data/check_videos.py ANN_FILE PREFIX [--num-workers N]
        [--all-frames]

ANN_FILE holds ``<video> <label>`` lines with paths relative to PREFIX.
"""
import argparse
import io
import os.path as osp
import sys
from multiprocessing import Pool
from typing import List, Optional, Tuple

import decord

from cakes_mm.datasets import BadAnnotationError, error_reason, read_annotation
from cakes_mm.environment import silence_irrelevant_warnings


def frames_to_decode(num_frames: int, all_frames: bool) -> List[int]:
    """First, middle and last frame, or all of them."""
    if all_frames:
        return list(range(num_frames))
    return sorted({0, num_frames // 2, num_frames - 1})


def probe(task: Tuple[str, bool]) -> Optional[str]:
    """Why decord cannot read the video, or None if it can.

    Args:
        task (tuple[str, bool]): The video's path and whether to decode
            every frame.

    Returns:
        str, optional: The reason, e.g. ``"file not found"``.
    """
    path, all_frames = task
    if not osp.isfile(path):
        return 'file not found'
    try:
        with open(path, 'rb') as file:
            reader = decord.VideoReader(io.BytesIO(file.read()), num_threads=1)
    except Exception as error:  # decord raises several error types
        return f'cannot open: {error_reason(error)}'
    num_frames = len(reader)
    if num_frames == 0:
        return 'no frames'
    indices = frames_to_decode(num_frames, all_frames)
    for start in range(0, len(indices), 64):
        chunk = indices[start:start + 64]
        try:
            reader.get_batch(chunk).asnumpy()
        except Exception as error:
            return (f'cannot decode frames {chunk[0]}..{chunk[-1]} of '
                    f'{num_frames}: {error_reason(error)}')
    return None


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
    tasks = [(path, args.all_frames) for path in paths]
    if args.num_workers > 1:
        with Pool(args.num_workers) as pool:
            reasons = pool.map(probe, tasks, chunksize=16)
    else:
        reasons = [probe(task) for task in tasks]
    bad = [(path, reason) for path, reason in zip(paths, reasons) if reason]
    for path, reason in bad:
        print(f'{path}: {reason}')
    print(f'{len(bad)} of {len(paths)} videos cannot be read by decord',
          file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    silence_irrelevant_warnings()
    sys.exit(main())
