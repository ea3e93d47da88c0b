"""mmaction2 rawframe lists of Something-Something V1.

The official label files (``;``-separated) name the classes in label order
(``something-something-v1-labels.csv``) and each split's videos with their
class (``-train.csv``, ``-validation.csv``). Every video's frames are
counted in ``FRAMES_DIR/<video id>/`` itself: the contiguous run of
``filename_tmpl`` names from ``start_index``. Videos whose folder is
missing or holds no frames are left out, and folders with a gap in their
numbering are listed with the frames before the gap; all three are
reported. ``tools/data/sthv1/build_file_list.py`` runs
:func:`sthv1_frame_lists` and :func:`write_frame_lists`.
"""

import os
import os.path as osp
from typing import Dict, List, NamedTuple, Tuple

from ..fileio import atomic_write
from .annotation import read_annotation

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


def count_frames(
    folder: str, filename_tmpl: str, start_index: int
) -> Tuple[int, int]:
    """(contiguous frames from ``start_index``, all files) of a folder."""
    names = set(os.listdir(folder))
    count = 0
    while filename_tmpl.format(start_index + count) in names:
        count += 1
    return count, len(names)


def frame_list(
    videos: List[Tuple[str, int]],
    frames_dir: str,
    filename_tmpl: str,
    start_index: int,
    report: FrameReport,
) -> List[str]:
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


class FrameLists(NamedTuple):
    """The lists of both splits, and what was left out.

    Args:
        lists (dict[str, list[str]]): ``<video> <frames> <label>`` lines by
            split (``'train'``, ``'val'``).
        totals (dict[str, int]): The videos each split's file names.
        report (FrameReport): Folders left out, or listed in part.
    """

    lists: Dict[str, List[str]]
    totals: Dict[str, int]
    report: FrameReport


def sthv1_frame_lists(
    ann_dir: str,
    frames_dir: str,
    filename_tmpl: str = '{:05}.jpg',
    start_index: int = 1,
) -> FrameLists:
    """Read the official files and count every video's frames.

    Args:
        ann_dir (str): The folder of the official CSV files.
        frames_dir (str): The folder of ``<video id>/`` frame folders.
        filename_tmpl (str): Frame file names. Defaults to ``'{:05}.jpg'``.
        start_index (int): Number of the first frame. Defaults to 1.

    Returns:
        FrameLists: The lists and the report.

    Raises:
        BadAnnotationError: Naming the file and line of a malformed line or
            an unknown or repeated class.
    """
    labels = read_class_names(osp.join(ann_dir, LABELS_CSV))
    splits = {
        split: read_split(osp.join(ann_dir, name), labels)
        for split, name in SPLITS.items()
    }
    report = FrameReport([], [], [])
    lists = {
        split: frame_list(
            videos, frames_dir, filename_tmpl, start_index, report
        )
        for split, videos in splits.items()
    }
    totals = {split: len(videos) for split, videos in splits.items()}
    return FrameLists(lists, totals, report)


def write_frame_lists(lists: Dict[str, List[str]], out_dir: str) -> List[str]:
    """Write ``OUT_DIR/sthv1_<split>_list_rawframes.txt`` atomically, the
    names ``configs/_base_/datasets/sthv1-rgb_rawframes_u8.py`` expects.

    Args:
        lists (dict[str, list[str]]): Lines by split.
        out_dir (str): Where the lists go.

    Returns:
        list[str]: The files written, in ``lists`` order.
    """
    paths = []
    for split, lines in lists.items():
        path = osp.join(out_dir, f'sthv1_{split}_list_rawframes.txt')
        atomic_write(path, ''.join(f'{line}\n' for line in lines))
        paths.append(path)
    return paths
