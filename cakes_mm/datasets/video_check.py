"""Which videos decord cannot open or decode, and why.

Each video is opened the way mmaction2's ``DecordInit`` opens it (the
file's bytes through decord), and its first, middle and last frames are
decoded, or every frame. ``tools/data/check_videos.py`` lists the failures
of an annotation file's videos.
"""

import io
import os.path as osp
from multiprocessing import Pool
from typing import List, Optional, Sequence, Tuple

import decord

from .errors import error_reason

#: Frames decoded per call.
CHUNK = 64


def frames_to_decode(num_frames: int, all_frames: bool) -> List[int]:
    """First, middle and last frame, or all of them.

    Args:
        num_frames (int): The video's frame count.
        all_frames (bool): Decode every frame.

    Returns:
        list[int]: Frame indices, ascending.
    """
    if all_frames:
        return list(range(num_frames))
    return sorted({0, num_frames // 2, num_frames - 1})


def unreadable_reason(task: Tuple[str, bool]) -> Optional[str]:
    """Why decord cannot read the video, or None if it can.

    Args:
        task (tuple[str, bool]): The video's path and whether to decode
            every frame (one argument, for ``Pool.map``).

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
    for start in range(0, len(indices), CHUNK):
        chunk = indices[start : start + CHUNK]
        try:
            reader.get_batch(chunk).asnumpy()
        except Exception as error:
            return (
                f'cannot decode frames {chunk[0]}..{chunk[-1]} of '
                f'{num_frames}: {error_reason(error)}'
            )
    return None


def unreadable_videos(
    paths: Sequence[str], all_frames: bool = False, num_workers: int = 1
) -> List[Tuple[str, str]]:
    """The videos decord cannot read, with the reasons.

    Args:
        paths (Sequence[str]): The videos.
        all_frames (bool): Decode every frame, not only three. Defaults to
            False.
        num_workers (int): Parallel processes. Defaults to 1.

    Returns:
        list[tuple[str, str]]: ``(path, reason)`` pairs, in ``paths``
        order.
    """
    tasks = [(path, all_frames) for path in paths]
    if num_workers > 1:
        with Pool(num_workers) as pool:
            reasons = pool.map(unreadable_reason, tasks, chunksize=16)
    else:
        reasons = [unreadable_reason(task) for task in tasks]
    return [(path, reason) for path, reason in zip(paths, reasons) if reason]
