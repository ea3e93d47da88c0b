"""How a CAKES conv computes its sub-kernel groups: the plan.

A CAKES conv is, mathematically, one conv per sub-kernel group. Computed
that way it is slow wherever the groups are narrow: a conv kernel (oneDNN on
the CPU, cuDNN on the GPU) works on output channels in blocks of a fixed
width (16 floats with AVX-512, 8 with AVX2), so a group of 2 channels costs
as much as one of 16, and every extra conv adds one more pass over the
input in the backward pass.

A *plan* partitions the groups into *blocks*. Each block is one conv whose
kernel is the smallest box holding all its groups' sub-kernels (their
per-axis maximum), and whose weight is theirs, zero-padded to the box. The
result is exact (the padded taps add zeros) and the gradients reach each
group's own weight unchanged, so checkpoints are untouched.

The rule (:func:`plan_blocks`) minimises a cost in padded multiply-adds per
output voxel, with ``in_blocks = ceil(in_channels / width)``::

    cost(block) = in_blocks * (taps(box) * ceil(channels / width)
                               + CONV_OVERHEAD)

summed over the blocks, plus ``PERMUTE_COST * ceil(out_channels / width)``
when the blocks change the channel order (one gather to restore it, and its
scatter in the backward pass). Ties go to fewer real multiply-adds.
``CONV_OVERHEAD`` stands for the passes over memory that one more conv costs
beyond its multiply-adds (its output, the concatenation, and in training its
own input gradient), in taps of one full-width block. Both constants were
set from training steps of the MRI demo's UNet and of MONAI's BasicUNet
converted to seven ops (``benchmarks/volumetric.py``), where concatenation
and gathers over large volumes cost more than their arithmetic suggests.
Every partition of up to 7 groups (877 of them) is scored, once per layer
and width.
"""

import math
from functools import lru_cache
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

from .flat_conv import conv3d_in_onednn, takes_unvectorised_path
from .sub_kernels import kernel_size, same_padding

#: Output channels a conv computes together, by CPU capability.
CPU_BLOCK_WIDTHS = {'AVX512': 16, 'AVX512_BF16': 16, 'AMX': 16, 'AVX2': 8}
#: The width assumed where none is known (other CPUs, GPUs).
DEFAULT_BLOCK_WIDTH = 8
#: A conv's cost beyond its multiply-adds, in taps of one channel block.
CONV_OVERHEAD = 6.0
#: The cost of one gather that restores the channel order, per block.
PERMUTE_COST = 12.0

Block = Tuple[str, ...]


def block_width(device: torch.device) -> int:
    """Output channels a conv on ``device`` computes together.

    Args:
        device (torch.device): Where the conv runs.

    Returns:
        int: 16 on AVX-512 CPUs, 8 on AVX2 CPUs and elsewhere.
    """
    if device.type == 'cpu':
        capability = torch.backends.cpu.get_cpu_capability()
        return CPU_BLOCK_WIDTHS.get(capability, DEFAULT_BLOCK_WIDTH)
    return DEFAULT_BLOCK_WIDTH


def box_size(names: Sequence[str], k: int = 3) -> Tuple[int, int, int]:
    """The smallest (T, H, W) kernel holding every named sub-kernel.

    Args:
        names (Sequence[str]): Sub-kernel names.
        k (int): The full kernel size. Defaults to 3.

    Returns:
        tuple[int, int, int]: The per-axis maximum of their sizes.
    """
    sizes = [kernel_size(name, k) for name in names]
    return tuple(max(axis) for axis in zip(*sizes))


def set_partitions(items: Sequence[str]) -> List[List[Block]]:
    """Every partition of ``items`` into blocks, each block in item order.

    Args:
        items (Sequence[str]): Distinct items.

    Returns:
        list[list[tuple[str, ...]]]: The partitions, blocks ordered by
        their first item.
    """
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    partitions = []
    for partition in set_partitions(rest):
        partitions.append([(first,)] + partition)
        for i, block in enumerate(partition):
            joined = (first,) + block
            partitions.append(partition[:i] + [joined] + partition[i + 1 :])
    return partitions


def plan_cost(
    blocks: Sequence[Block],
    choice: Dict[str, int],
    width: int,
    in_channels: int = 1,
) -> Tuple[float, int]:
    """(cost, real multiply-adds) of computing ``choice`` as ``blocks``.

    Args:
        blocks (Sequence[tuple[str, ...]]): The partition.
        choice (dict[str, int]): Channels per sub-kernel, in group order.
        width (int): The conv's channel block width.
        in_channels (int): The conv's input channels. Defaults to 1.

    Returns:
        tuple[float, int]: The cost of the module docstring, and the
        multiply-adds per output voxel and input channel, padded taps
        included.
    """
    in_blocks = math.ceil(in_channels / width)
    cost, macs = 0.0, 0
    for block in blocks:
        channels = sum(choice[name] for name in block)
        taps = math.prod(box_size(block))
        cost += in_blocks * (
            taps * math.ceil(channels / width) + CONV_OVERHEAD
        )
        macs += taps * channels
    order = [name for block in blocks for name in block]
    if order != list(choice):
        cost += PERMUTE_COST * math.ceil(sum(choice.values()) / width)
    return cost, macs


@lru_cache(maxsize=4096)
def _best_blocks(
    choice: Tuple[Tuple[str, int], ...], width: int, in_channels: int
) -> Tuple[Block, ...]:
    """The cached search of :func:`plan_blocks`."""
    groups = dict(choice)
    names = [name for name, count in choice if count > 0]
    best = min(
        set_partitions(names),
        key=lambda p: plan_cost(p, groups, width, in_channels),
    )
    return tuple(best)


def plan_blocks(
    choice: Dict[str, int], width: int, in_channels: int = 1
) -> Tuple[Block, ...]:
    """The cheapest partition of a CAKES conv's groups into blocks.

    Args:
        choice (dict[str, int]): Channels per sub-kernel, in group order;
            groups of zero channels are left out.
        width (int): The conv's channel block width (:func:`block_width`).
        in_channels (int): The conv's input channels. Defaults to 1.

    Returns:
        tuple[tuple[str, ...], ...]: The blocks, each a tuple of sub-kernel
        names, in the order their outputs are concatenated.
    """
    return _best_blocks(tuple(choice.items()), width, in_channels)


def pad_to_box(
    weight: torch.Tensor, box: Tuple[int, int, int]
) -> torch.Tensor:
    """Zero-pad a (C_out, C_in, t, h, w) kernel, centred, to ``box``.

    Args:
        weight (torch.Tensor): The kernel; each size odd, at most the
            box's.
        box (tuple[int, int, int]): The (T, H, W) size to pad to.

    Returns:
        torch.Tensor: The kernel, of size ``box``.
    """
    pads = []
    for size, target in zip(reversed(weight.shape[2:]), reversed(box)):
        side = (target - size) // 2
        pads += [side, side]
    return F.pad(weight, pads) if any(pads) else weight


def box_conv(
    x: torch.Tensor, weight: torch.Tensor, bias, box, layer
) -> torch.Tensor:
    """A conv whose kernel is a ``box`` of zero-padded sub-kernels, padded
    as each sub-kernel is, so that the output is theirs exactly.

    Args:
        x (torch.Tensor): (N, C_in, T, H, W).
        weight (torch.Tensor): (C_out, C_in, *box).
        bias (torch.Tensor, optional): (C_out,) or None.
        box (tuple[int, int, int]): The kernel's size, each 1 or the full
            kernel size.
        layer (nn.Module): The CAKES layer whose ``kernel_size`` (the full
            size k), ``stride``, ``dilation`` (of the full kernel) and
            ``padding_mode`` the conv takes.

    Returns:
        torch.Tensor: The conv's output.
    """
    # The box spans every axis one of its sub-kernels spans.
    name = 'x'.join('k' if size > 1 else '1' for size in box)
    padding = same_padding(name, layer.kernel_size, layer.dilation)
    dilation = tuple(
        d if size > 1 else 1 for size, d in zip(box, layer.dilation)
    )
    if layer.padding_mode != 'zeros':
        pads = [p for p in reversed(padding) for _ in range(2)]
        x = F.pad(x, pads, mode=layer.padding_mode)
        padding = (0, 0, 0)
    if takes_unvectorised_path(x, weight, layer.stride, dilation, 1):
        return conv3d_in_onednn(
            x, weight, bias, layer.stride, padding, dilation
        )
    return F.conv3d(x, weight, bias, layer.stride, padding, dilation)
