"""mmaction2 video lists of UCF101 from its official split files.

``classInd.txt`` (``1 ApplyEyeMakeup``, one class a line, 1-based),
``trainlist0{s}.txt`` (``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``)
and ``testlist0{s}.txt`` (the path only) become ``<path> <0-based label>``
lists. Every video's class is read from its folder name (matched to
``classInd.txt`` ignoring case); where the train list also gives a label,
the two must agree. ``tools/data/ucf101/build_file_list.py`` runs
:func:`build_file_lists`.
"""

import os.path as osp
from typing import Dict, List, Sequence, Tuple

from ..fileio import atomic_write

Entry = Tuple[str, int]


class AnnotationError(ValueError):
    """A malformed line in an official UCF101 split file."""


def numbered_lines(path: str) -> List[Tuple[int, str]]:
    """The non-blank lines of a text file with their 1-based numbers.

    Args:
        path (str): The file.

    Returns:
        list[tuple[int, str]]: (line number, stripped line) pairs.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'UCF101 split file not found: {path}')
    with open(path, encoding='utf-8') as file:
        return [
            (number, line.strip())
            for number, line in enumerate(file, start=1)
            if line.strip()
        ]


def parse_class_index(path: str) -> Dict[str, int]:
    """Read ``classInd.txt`` into 0-based labels.

    Args:
        path (str): The file; lines are ``<index> <ClassName>`` with the
            indices 1..N, each once.

    Returns:
        dict[str, int]: The 0-based label of each lower-cased class name.
    """
    classes = {}
    indices = []
    for number, line in numbered_lines(path):
        fields = line.split()
        if len(fields) != 2 or not fields[0].isdigit():
            raise AnnotationError(
                f'{path}:{number}: expected "<index> <ClassName>", got '
                f'{line!r}'
            )
        name = fields[1].lower()
        if name in classes:
            raise AnnotationError(
                f'{path}:{number}: class {fields[1]!r} is listed twice'
            )
        classes[name] = int(fields[0]) - 1
        indices.append(int(fields[0]))
    if sorted(indices) != list(range(1, len(indices) + 1)):
        raise AnnotationError(
            f'{path}: class indices must be 1..{len(indices)}, each once; '
            f'got {sorted(indices)}'
        )
    return classes


def parse_split_list(path: str, classes: Dict[str, int]) -> List[Entry]:
    """Read a ``trainlist``/``testlist`` file into (path, label) entries.

    Args:
        path (str): The file; lines are ``<Class>/<video>.avi`` with an
            optional 1-based label.
        classes (dict[str, int]): From :func:`parse_class_index`.

    Returns:
        list[tuple[str, int]]: (video path, 0-based label), in file order.
    """
    entries = []
    for number, line in numbered_lines(path):
        fields = line.split()
        if len(fields) not in (1, 2) or '/' not in fields[0]:
            raise AnnotationError(
                f'{path}:{number}: expected "<Class>/<video> [label]", got '
                f'{line!r}'
            )
        folder = fields[0].split('/')[0].lower()
        if folder not in classes:
            raise AnnotationError(
                f'{path}:{number}: class folder {fields[0].split("/")[0]!r} '
                f'is not in classInd.txt'
            )
        label = classes[folder]
        if len(fields) == 2 and (
            not fields[1].isdigit() or int(fields[1]) - 1 != label
        ):
            raise AnnotationError(
                f'{path}:{number}: label {fields[1]!r} does not match class '
                f'{fields[0].split("/")[0]!r} (index {label + 1} in '
                f'classInd.txt)'
            )
        entries.append((fields[0], label))
    return entries


def write_list(entries: Sequence[Entry], path: str) -> None:
    """Write ``<path> <label>`` lines atomically (temp file, then rename).

    Args:
        entries (Sequence[tuple[str, int]]): The videos and labels.
        path (str): The output file.
    """
    atomic_write(
        path, ''.join(f'{video} {label}\n' for video, label in entries)
    )


def build_file_lists(ann_dir: str, split: int, out_dir: str) -> List[str]:
    """Build the train and val lists of one official split.

    Args:
        ann_dir (str): The folder with ``classInd.txt`` and the split files.
        split (int): 1, 2 or 3.
        out_dir (str): Where the lists go.

    Returns:
        list[str]: The train and val list paths.
    """
    if split not in (1, 2, 3):
        raise ValueError(f'UCF101 has splits 1, 2 and 3, got {split}')
    classes = parse_class_index(osp.join(ann_dir, 'classInd.txt'))
    # Both files are read before either list is written: a malformed line
    # leaves any earlier lists untouched.
    lists = {
        osp.join(
            out_dir, f'ucf101_{target}_split_{split}_videos.txt'
        ): parse_split_list(
            osp.join(ann_dir, f'{source}0{split}.txt'), classes
        )
        for source, target in (('trainlist', 'train'), ('testlist', 'val'))
    }
    for path, entries in lists.items():
        write_list(entries, path)
    return list(lists)
