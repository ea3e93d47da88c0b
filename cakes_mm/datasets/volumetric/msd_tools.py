"""Check a Decathlon task folder and resample it to a new spacing.

The library side of ``tools/data/msd/prepare_msd.py``. One pass reads
every pair listed in ``dataset.json`` once: checks it (both files readable,
same shape and affine, label values among the declared ``labels``) and,
with an output folder, resamples it (image trilinear, label nearest) and
writes it there atomically. The output's ``dataset.json`` is written last,
and only if every pair passed, so a dataset with one is complete.
"""

import json
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

from cakes_mm.fileio import atomic_write

from ..errors import BadInputError, BadSampleError
from .decathlon_json import (
    VolumeCase,
    class_names,
    load_decathlon_json,
    read_cases,
)
from .nifti_checks import check_pair
from .nifti_io import resample_pair, save_nifti

#: The paper's spacing for MSD pancreas (mm).
PAPER_SPACING = (1.0, 1.0, 1.0)

#: Lists whose pairs are checked and resampled. An MSD ``test`` list of
#: bare image paths (no labels) is left out of the output.
LABELLED_LISTS = ('training', 'validation', 'test')


def labelled_lists(index: dict) -> List[str]:
    """The lists of ``index`` that hold image/label pairs.

    Args:
        index (dict): A parsed ``dataset.json``.

    Returns:
        list[str]: ``training`` and whichever of ``validation`` and
        ``test`` are lists of dicts.
    """
    names = ['training']
    for name in LABELLED_LISTS[1:]:
        entries = index.get(name)
        if (
            isinstance(entries, list)
            and entries
            and all(isinstance(entry, dict) for entry in entries)
        ):
            names.append(name)
    return names


def output_name(path: str, root: str, folder: str) -> str:
    """Where a listed file goes in the output, relative to its root.

    Args:
        path (str): The input file.
        root (str): The input task folder.
        folder (str): ``imagesTr`` or ``labelsTr``, used for files outside
            ``root``.

    Returns:
        str: e.g. ``'imagesTr/pancreas_001.nii.gz'``.
    """
    relative = osp.relpath(path, root)
    if relative.startswith('..'):
        return f'{folder}/{osp.basename(path)}'
    return relative


def describe(shape: Sequence[int], spacing: Sequence[float]) -> str:
    """``'512x512x110 @ 0.70x0.70x2.50 mm'``."""
    return (
        f'{"x".join(map(str, shape))} @ '
        f'{"x".join(f"{size:.2f}" for size in spacing)} mm'
    )


def process_case(
    case: VolumeCase,
    num_classes: int,
    root: str,
    out_dir: Optional[str],
    spacing: Sequence[float],
) -> Dict[str, str]:
    """Check one pair and, with ``out_dir``, write it resampled.

    Args:
        case (VolumeCase): The pair.
        num_classes (int): The declared classes.
        root (str): The input task folder.
        out_dir (str, optional): The output folder.
        spacing (Sequence[float]): The new voxel sizes (mm).

    Returns:
        dict[str, str]: ``image`` and ``label`` (output paths, relative)
        and ``log`` (what was done, for the progress line).
    """
    image, label, grid = check_pair(
        case.image, case.label, num_classes, case.entry
    )
    names = dict(
        image=output_name(case.image, root, 'imagesTr'),
        label=output_name(case.label, root, 'labelsTr'),
    )
    log = describe(grid.shape, grid.spacing)
    if out_dir is None:
        return dict(names, log=f'{log}: ok')
    image, label, affine = resample_pair(image, label, grid.affine, spacing)
    save_nifti(osp.join(out_dir, names['image']), image, affine)
    save_nifti(osp.join(out_dir, names['label']), label, affine)
    return dict(names, log=f'{log} -> {describe(label.shape, spacing)}')


def prepare_task(
    task_dir: str,
    out_dir: Optional[str] = None,
    spacing: Sequence[float] = PAPER_SPACING,
    json_name: str = 'dataset.json',
    echo: Callable[[str], None] = print,
) -> List[str]:
    """Check a Decathlon task folder; resample it into ``out_dir``.

    Args:
        task_dir (str): The task folder (``dataset.json``, ``imagesTr``,
            ``labelsTr``).
        out_dir (str, optional): Where to write the resampled task; None
            only checks. Defaults to None.
        spacing (Sequence[float]): The new voxel sizes (mm). Defaults to
            1 mm isotropic, the paper's.
        json_name (str): The index file in ``task_dir``. Defaults to
            ``'dataset.json'``.
        echo (Callable[[str], None]): Receives one progress line per pair.
            Defaults to ``print``.

    Returns:
        list[str]: One line per problem, each naming the file (and the
        json entry); empty when every pair passed.
    """
    json_path = osp.join(task_dir, json_name)
    try:
        index = load_decathlon_json(json_path)
        lists = {
            name: read_cases(index, json_path, name)
            for name in labelled_lists(index)
        }
    except BadInputError as error:
        return [str(error)]
    num_classes = len(class_names(index, json_path))
    total = sum(len(cases) for cases in lists.values())
    problems, written, done = [], {}, 0
    for name, cases in lists.items():
        written[name] = []
        for case in cases:
            done += 1
            try:
                result = process_case(
                    case, num_classes, task_dir, out_dir, spacing
                )
            except BadSampleError as error:
                problems.append(str(error))
                echo(f'[{done}/{total}] {osp.basename(case.image)}: bad')
                continue
            echo(
                f'[{done}/{total}] {osp.basename(case.image)}: {result["log"]}'
            )
            written[name].append(
                {
                    'image': './' + result['image'],
                    'label': './' + result['label'],
                    **({} if case.fold is None else {'fold': case.fold}),
                }
            )
    if out_dir is not None and not problems:
        write_index(index, written, osp.join(out_dir, json_name), spacing)
    return problems


def write_index(
    index: dict,
    lists: Dict[str, List[dict]],
    path: str,
    spacing: Sequence[float],
) -> None:
    """Write the output ``dataset.json``: the input's keys, the new lists.

    Args:
        index (dict): The input ``dataset.json``.
        lists (dict[str, list[dict]]): The written pairs of each list.
        path (str): The output file.
        spacing (Sequence[float]): The new voxel sizes, recorded under
            ``spacing``.
    """
    output = {
        key: value
        for key, value in index.items()
        if key not in ('test', 'numTest')
    }
    output.update(
        lists,
        numTraining=len(lists['training']),
        spacing=[float(size) for size in spacing],
    )
    atomic_write(path, json.dumps(output, indent=4) + '\n')
