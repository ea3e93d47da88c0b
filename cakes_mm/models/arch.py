"""The CAKES arch format: load, validate, save.

An architecture is a list with one dict per searched block (16 for a
ResNet-50: 3, 4, 6 and 3 bottlenecks). Each dict maps a sub-kernel name to the
number of output channels of that block's middle convolution that use it, and
sums to the block's width. Within a block the output channels are grouped in
the dict's key order, and the same order decides which 2D filters each group
inflates from. Exports are plain JSON of ints.

The six architectures released with the paper's public code ship with the
package (``cakes_mm/data/cakes_searched_archs.json``, from
github.com/yucornetto/CAKES, MIT License, Copyright (c) 2020 yucornetto) and
can be named directly, e.g. ``'CAKES123D_P'``.
"""

import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

from ..fileio import atomic_write
from .layers.sub_kernels import check_op_set, uniform_split

Arch = List[Dict[str, int]]
ArchSpec = Union[str, Sequence[Dict[str, int]]]

RELEASED_ARCHS_FILE = osp.join(
    osp.dirname(osp.dirname(__file__)), 'data', 'cakes_searched_archs.json'
)


def released_archs() -> Dict[str, Arch]:
    """The six architectures released with the paper's public code.

    Returns:
        dict[str, list[dict]]: Name (e.g. ``'CAKES12D_C'``) to arch.
    """
    with open(RELEASED_ARCHS_FILE, encoding='utf-8') as f:
        return json.load(f)['archs']


def validate_arch(
    arch: object,
    widths: Sequence[int],
    block_names: Sequence[str],
    source: str = 'arch',
) -> Arch:
    """Check an arch against the widths of the blocks it is meant for.

    Args:
        arch (object): The candidate, normally a list of dicts.
        widths (Sequence[int]): The width of each block's middle conv.
        block_names (Sequence[str]): A readable name per block, e.g.
            ``'layer2.0'``, used in error messages.
        source (str): Where the arch came from, for error messages.
            Defaults to ``'arch'``.

    Returns:
        list[dict[str, int]]: The arch as plain lists, dicts and ints.

    Raises:
        ValueError: Naming the block and the expected width when the arch has
            the wrong length, an unknown sub-kernel, a count that is not a
            non-negative int, or counts that do not sum to the width.
    """
    if not isinstance(arch, (list, tuple)):
        raise ValueError(
            f'{source}: an arch must be a list of {len(widths)} dicts '
            f'(one per block), got {type(arch).__name__}'
        )
    if len(arch) != len(widths):
        raise ValueError(
            f'{source}: the arch has {len(arch)} blocks, but this backbone '
            f'has {len(widths)} ({", ".join(block_names)})'
        )
    clean = []
    for index, (block, width, name) in enumerate(
        zip(arch, widths, block_names)
    ):
        where = f'{source}: block {index} ({name}, width {width})'
        if not isinstance(block, dict):
            raise ValueError(
                f'{where}: expected a dict of sub-kernel name '
                f'to channel count, got {block!r}'
            )
        try:
            check_op_set(list(block))
        except ValueError as error:
            raise ValueError(f'{where}: {error}') from None
        for op, count in block.items():
            if isinstance(count, bool) or not isinstance(count, int):
                raise ValueError(
                    f'{where}: the count of {op!r} must be an '
                    f'int, got {count!r}'
                )
            if count < 0:
                raise ValueError(
                    f'{where}: the count of {op!r} is negative ({count})'
                )
        total = sum(block.values())
        if total != width:
            raise ValueError(
                f'{where}: counts {block} sum to {total}, '
                f'expected the block width {width}'
            )
        clean.append({op: int(count) for op, count in block.items()})
    return clean


def read_arch_file(path: str) -> object:
    """Read an arch JSON file, with errors that name the file and line.

    Args:
        path (str): Path to a JSON file holding the arch list.

    Returns:
        object: The decoded JSON document (validated by the caller).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'arch file not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except UnicodeDecodeError as error:
        raise ValueError(
            f'{path}: not UTF-8 text ({error.reason} at byte {error.start})'
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f'{path}: line {error.lineno}, column {error.colno}: not valid '
            f'JSON ({error.msg})'
        ) from None
    except RecursionError:
        raise ValueError(
            f'{path}: nested too deeply to be an arch (a list of flat dicts)'
        ) from None


def resolve_arch(
    arch: ArchSpec,
    widths: Sequence[int],
    block_names: Sequence[str],
    op_set: Optional[Sequence[str]] = None,
) -> Arch:
    """Turn any accepted form of ``arch`` into a validated arch list.

    Args:
        arch (str | Sequence[dict]): ``'uniform'`` (with ``op_set``), a list
            of dicts, a path to a JSON file of that list, or the name of a
            released architecture.
        widths (Sequence[int]): The width of each block's middle conv.
        block_names (Sequence[str]): A readable name per block.
        op_set (Sequence[str], optional): Sub-kernel names for ``'uniform'``.
            Defaults to None.

    Returns:
        list[dict[str, int]]: The validated arch.
    """
    if isinstance(arch, str):
        if arch == 'uniform':
            if op_set is None:
                raise ValueError(
                    "arch='uniform' needs op_set=[...], the "
                    'sub-kernel names to split each block over'
                )
            ops = check_op_set(op_set)
            return [uniform_split(width, ops) for width in widths]
        released = released_archs()
        if arch in released:
            return validate_arch(released[arch], widths, block_names, arch)
        if arch.endswith('.json') or osp.exists(arch):
            return validate_arch(
                read_arch_file(arch), widths, block_names, arch
            )
        raise ValueError(
            f"arch {arch!r} is neither 'uniform', a released architecture "
            f'({", ".join(released)}) nor a JSON file'
        )
    return validate_arch(arch, widths, block_names)


def save_arch(arch: Arch, path: str) -> str:
    """Write an arch as JSON atomically: a temp file, then a rename.

    Args:
        arch (list[dict[str, int]]): The arch to write.
        path (str): Destination file.

    Returns:
        str: ``path``.
    """
    text = json.dumps(
        [{op: int(n) for op, n in block.items()} for block in arch], indent=1
    )
    atomic_write(path, text + '\n')
    return path
