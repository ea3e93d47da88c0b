"""How MONAI's 3D networks convert, at their default arguments.

:func:`conversion_table` builds each network of :data:`NETWORKS`, converts
a fresh copy four ways (fixed CAKES, both CAKES search supernets and P2SC2,
no include or exclude list) and gives a Markdown table of the k x k x k
convs (k > 1) converted and skipped, with the skip reasons summarised.
``docs/conversion.md`` holds its output (``tools/analysis/
conversion_table.py``), checked by a test.
"""

import contextlib
import logging
import re
from typing import Callable, Dict, Iterator, List, NamedTuple

import torch.nn as nn
from mmengine.logging import MMLogger

from ..models.convert import (
    ConversionReport,
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
)

#: The fixed CAKES op set, one op per kind of sub-kernel.
OP_SET = ['kxkxk', '1xkxk', 'kx1x1']


class Network(NamedTuple):
    """A MONAI network at its defaults.

    Args:
        build (Callable[[], nn.Module]): Builds it (the required arguments
            as in MONAI's documentation, all others at their defaults).
        size (int): The side of the cubic input the conversions trace.
        pre_activation (bool): Its convs are not followed by their own
            norm, so the supernets add one (``add_norm=True``).
    """

    build: Callable[[], nn.Module]
    size: int
    pre_activation: bool


def monai_networks() -> Dict[str, Network]:
    """The networks of the table, by MONAI's class name.

    Returns:
        dict[str, Network]: UNet, SegResNet, DynUNet, VNet, HighResNet,
        AttentionUnet and BasicUNet.
    """
    from monai.networks import nets

    return {
        'UNet': Network(
            lambda: nets.UNet(
                3, 1, 2, channels=(16, 32, 64, 128, 256), strides=(2,) * 4
            ),
            32,
            False,
        ),
        'SegResNet': Network(lambda: nets.SegResNet(spatial_dims=3), 16, True),
        'DynUNet': Network(
            lambda: nets.DynUNet(
                3,
                1,
                2,
                kernel_size=[3, 3, 3],
                strides=[1, 2, 2],
                upsample_kernel_size=[2, 2],
            ),
            16,
            False,
        ),
        'VNet': Network(lambda: nets.VNet(spatial_dims=3), 32, False),
        'HighResNet': Network(
            lambda: nets.HighResNet(spatial_dims=3), 16, True
        ),
        'AttentionUnet': Network(
            lambda: nets.AttentionUnet(
                3, 1, 2, channels=(16, 32, 64, 128), strides=(2, 2, 2)
            ),
            16,
            False,
        ),
        'BasicUNet': Network(
            lambda: nets.BasicUNet(spatial_dims=3), 32, False
        ),
    }


def convert(
    model: nn.Module, network: Network, conversion: str
) -> ConversionReport:
    """Convert ``model``, built by ``network``, one way, in place.

    Args:
        model (nn.Module): ``network.build()``.
        network (Network): The network.
        conversion (str): ``'cakes'``, ``'performance'``, ``'cost'`` or
            ``'p2sc2'``.

    Returns:
        ConversionReport: What was converted and skipped.
    """
    shape = (1, 1) + (network.size,) * 3
    if conversion == 'cakes':
        return convert_to_cakes(model, op_set=OP_SET)
    if conversion == 'p2sc2':
        return convert_to_pmscn(model, 2, 2, input_shape=shape)
    return convert_to_cakes_supernet(
        model,
        OP_SET,
        conversion,
        input_shape=shape,
        add_norm=network.pre_activation,
    )


#: Short forms of the converters' reasons, by a pattern of their text.
REASONS = (
    (r'^a (depthwise|grouped) conv', r'\1'),
    (r'^only odd kernels', 'even kernel or size-changing padding'),
    (r'output channel\(s\) cannot feed', 'too few channels'),
    (r'norm right after each searched conv', 'no norm of its own'),
    (r'a shared norm cannot', 'shared norm'),
)


def summarise(reason: str) -> str:
    """A few words for a converter's reason for skipping a conv.

    Args:
        reason (str): The reason, as the report gives it.

    Returns:
        str: Its short form, or its first clause.
    """
    for pattern, short in REASONS:
        found = re.search(pattern, reason)
        if found:
            return found.expand(short)
    return reason.split(';')[0]


def is_pmscn(report: ConversionReport) -> bool:
    """Whether ``report`` is of a PmSCn conversion (rows are units)."""
    return report.target.startswith('P')


def count_convs(report: ConversionReport) -> int:
    """Convs replaced: a PmSCn unit of a pair (``'a + b'``) counts two; a
    supernet's row (``'conv + norm'``) is one conv."""
    if not is_pmscn(report):
        return len(report.layers)
    return sum(len(row.name.split(' + ')) for row in report.layers)


def cell(report: ConversionReport) -> str:
    """``converted / skipped (reasons)``, the table's cell for a report."""
    counts: Dict[str, int] = {}
    for row in report.skipped:
        short = summarise(row.reason)
        counts[short] = counts.get(short, 0) + 1
    reasons = ', '.join(f'{n} {why}' for why, n in sorted(counts.items()))
    text = f'{count_convs(report)} / {len(report.skipped)}'
    added = sum(row.note.endswith('added') for row in report.layers)
    units = len(report.layers) if is_pmscn(report) else 0
    notes = [reasons] if reasons else []
    notes += [f'{added} norms added'] if added else []
    notes += [f'{units} units'] if units else []
    return text + (f' ({"; ".join(notes)})' if notes else '')


#: The table's columns: conversion and heading.
COLUMNS = (
    ('cakes', 'fixed CAKES'),
    ('performance', 'performance search'),
    ('cost', 'cost search'),
    ('p2sc2', 'P2SC2'),
)


@contextlib.contextmanager
def quiet_reports() -> Iterator[None]:
    """Keep the converters' logged reports (INFO) out of the output."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def conversion_table() -> str:
    """The Markdown table of how MONAI's networks convert.

    Returns:
        str: A header and one row per network; each cell is ``converted /
        skipped`` k x k x k convs with the reasons summarised.
    """
    lines: List[str] = [
        '| network | ' + ' | '.join(title for _, title in COLUMNS) + ' |',
        '|---' * (len(COLUMNS) + 1) + '|',
    ]
    for name, network in monai_networks().items():
        with quiet_reports():
            cells = [
                cell(convert(network.build(), network, kind))
                for kind, _ in COLUMNS
            ]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'
