"""Read a Medical Segmentation Decathlon ``dataset.json``.

The file is a JSON object with

* ``labels``: the classes, ``{"0": "background", "1": "pancreas", ...}``;
  the keys must be ``"0"`` .. ``"K-1"``, each once;
* ``training``: a list of ``{"image": ..., "label": ...}`` pairs, paths
  relative to the data root (the json's folder when none is given);
* optionally ``validation`` and ``test``: more labelled pairs of the same
  form (an extension of the MSD format, written by our data tools);
* optionally, in every pair of a list or in none, ``fold``: the pair's
  cross-validation fold (see :func:`assign_folds`).

Every problem raises :class:`BadAnnotationError` naming the file and the
entry, e.g. ``data/dataset.json: training[3]: "label" is missing``.
"""

import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from ..errors import BadAnnotationError

#: The labelled lists a ``dataset.json`` may hold, by split name.
SPLIT_LISTS = {'train': 'training', 'val': 'validation', 'test': 'test'}


@dataclass(frozen=True)
class VolumeCase:
    """One image/label pair listed in a ``dataset.json``.

    Attributes:
        image (str): The image file, joined to the data root.
        label (str): The label file, joined to the data root.
        entry (str): Where it is listed, e.g.
            ``'data/dataset.json: training[3]'``.
        fold (int, optional): Its ``fold`` key, if the entry has one.
    """

    image: str
    label: str
    entry: str
    fold: Optional[int] = None


def load_decathlon_json(path: str) -> dict:
    """Read ``path`` and check its ``labels``.

    Args:
        path (str): The ``dataset.json``.

    Returns:
        dict: The parsed JSON object.
    """
    if not osp.isfile(path):
        raise BadAnnotationError(f'{path}: file not found')
    try:
        with open(path, encoding='utf-8') as file:
            index = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadAnnotationError(f'{path}: not valid JSON ({error})') from None
    if not isinstance(index, dict):
        raise BadAnnotationError(
            f'{path}: the top level must be a JSON '
            f'object, got {type(index).__name__}'
        )
    class_names(index, path)
    return index


def class_names(index: dict, path: str) -> List[str]:
    """The class names of ``index['labels']``, by class index.

    Args:
        index (dict): A parsed ``dataset.json``.
        path (str): Its file, for error messages.

    Returns:
        list[str]: ``names[k]`` is the name of label value ``k``.
    """
    labels = index.get('labels')
    expected = (
        '"labels" must map "0".."K-1" to class names, e.g. '
        '{"0": "background", "1": "pancreas"}'
    )
    if not isinstance(labels, dict) or len(labels) < 2:
        raise BadAnnotationError(f'{path}: {expected}; got {labels!r}')
    wanted = [str(value) for value in range(len(labels))]
    if sorted(labels, key=str) != sorted(wanted) or not all(
        isinstance(name, str) for name in labels.values()
    ):
        raise BadAnnotationError(
            f'{path}: {expected}; got keys {sorted(labels)}'
        )
    return [labels[key] for key in wanted]


def read_cases(
    index: dict, path: str, list_name: str, data_root: str = ''
) -> List[VolumeCase]:
    """The image/label pairs of one list of a ``dataset.json``.

    Args:
        index (dict): The parsed file (:func:`load_decathlon_json`).
        path (str): The file, for error messages.
        list_name (str): ``'training'``, ``'validation'`` or ``'test'``.
        data_root (str): Folder the listed paths are relative to; empty for
            the json's own folder. Defaults to ''.

    Returns:
        list[VolumeCase]: The pairs, in the file's order.
    """
    entries = index.get(list_name)
    if not isinstance(entries, list):
        found = 'no' if entries is None else f'a non-list {list_name!r}'
        raise BadAnnotationError(
            f'{path}: has {found} "{list_name}" list of '
            '{"image": ..., "label": ...} pairs'
        )
    root = data_root or osp.dirname(path)
    cases = []
    for number, entry in enumerate(entries):
        where = f'{path}: {list_name}[{number}]'
        cases.append(_read_entry(entry, where, root))
    _check_unique(cases)
    return cases


def _read_entry(entry: object, where: str, root: str) -> VolumeCase:
    """Check one ``{"image", "label"[, "fold"]}`` entry."""
    if not isinstance(entry, dict):
        raise BadAnnotationError(
            f'{where}: must be {{"image": ..., "label": ...}}, got {entry!r}'
        )
    for key in ('image', 'label'):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise BadAnnotationError(
                f'{where}: "{key}" must be a file path, got {entry.get(key)!r}'
            )
    fold = entry.get('fold')
    if fold is not None and (
        not isinstance(fold, int) or isinstance(fold, bool) or fold < 0
    ):
        raise BadAnnotationError(
            f'{where}: "fold" must be an integer >= 0, got {fold!r}'
        )
    return VolumeCase(
        image=osp.normpath(osp.join(root, entry['image'])),
        label=osp.normpath(osp.join(root, entry['label'])),
        entry=where,
        fold=fold,
    )


def _check_unique(cases: Sequence[VolumeCase]) -> None:
    """Refuse an image listed twice."""
    first: Dict[str, str] = {}
    for case in cases:
        if case.image in first:
            raise BadAnnotationError(
                f'{case.entry}: image {case.image} is already listed at '
                f'{first[case.image]}'
            )
        first[case.image] = case.entry


def fold_of_position(position: int, num_cases: int, num_folds: int) -> int:
    """The fold of the case at ``position`` in sorted order.

    Folds are contiguous blocks of near-equal size: fold ``f`` holds the
    positions ``p`` with ``p * num_folds // num_cases == f``.

    Args:
        position (int): The case's position, 0-based.
        num_cases (int): How many cases there are.
        num_folds (int): How many folds.

    Returns:
        int: The fold, in ``0 .. num_folds - 1``.
    """
    return position * num_folds // num_cases


def assign_folds(cases: Sequence[VolumeCase], num_folds: int) -> List[int]:
    """The cross-validation fold of every case.

    If every entry has a ``fold`` key, those are the folds. If none has,
    the cases are sorted by image path and cut into ``num_folds``
    contiguous blocks (:func:`fold_of_position`); the order of the list in
    the file does not matter. Fold sizes differ by at most one: MSD
    Task07's 282 cases in 5 folds give 57, 56, 57, 56 and 56 cases, so
    holding out fold 1, 3 or 4 gives the paper's 226 / 56 split.

    Args:
        cases (Sequence[VolumeCase]): The cases.
        num_folds (int): How many folds; at least 2.

    Returns:
        list[int]: ``folds[i]`` is the fold of ``cases[i]``.
    """
    if num_folds < 2:
        raise ValueError(f'num_folds must be at least 2, got {num_folds}')
    with_fold = [case for case in cases if case.fold is not None]
    if with_fold and len(with_fold) < len(cases):
        missing = next(case for case in cases if case.fold is None)
        raise BadAnnotationError(
            f'{missing.entry}: has no "fold" while other entries have one; '
            'give every entry a fold or none'
        )
    for case in with_fold:
        if case.fold >= num_folds:
            raise BadAnnotationError(
                f'{case.entry}: fold {case.fold} is not below num_folds='
                f'{num_folds}'
            )
    if with_fold:
        return [case.fold for case in cases]
    order = sorted(range(len(cases)), key=lambda i: cases[i].image)
    folds = [0] * len(cases)
    for position, i in enumerate(order):
        folds[i] = fold_of_position(position, len(cases), num_folds)
    return folds


def select_cases(
    index: dict,
    path: str,
    split: str,
    fold: Optional[int] = None,
    num_folds: int = 5,
    data_root: str = '',
) -> List[VolumeCase]:
    """The cases of one split of a ``dataset.json``.

    Without ``fold``, ``split`` names a list: ``'train'`` is
    ``training``, ``'val'`` is ``validation`` and ``'test'`` is ``test``.
    With ``fold``, the ``training`` list is split by
    :func:`assign_folds`: ``'val'`` is that fold, ``'train'`` the others.

    Args:
        index (dict): The parsed file (:func:`load_decathlon_json`).
        path (str): The file, for error messages.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        fold (int, optional): The held-out fold. Defaults to None.
        num_folds (int): How many folds. Defaults to 5.
        data_root (str): Folder the listed paths are relative to; empty for
            the json's folder. Defaults to ''.

    Returns:
        list[VolumeCase]: The split's cases.
    """
    if split not in SPLIT_LISTS:
        raise ValueError(
            f'split must be one of {sorted(SPLIT_LISTS)}, got {split!r}'
        )
    if fold is None:
        return read_cases(index, path, SPLIT_LISTS[split], data_root)
    if split == 'test':
        raise ValueError(
            "split='test' reads the json's test list; it takes no fold"
        )
    if not 0 <= fold < num_folds:
        raise ValueError(f'fold must be in 0..{num_folds - 1}, got {fold}')
    cases = read_cases(index, path, 'training', data_root)
    folds = assign_folds(cases, num_folds)
    held_out = split == 'val'
    return [
        case
        for case, case_fold in zip(cases, folds)
        if (case_fold == fold) == held_out
    ]
