"""The path generator of performance-priority search.

In every training step each output channel of every searched layer draws one
op uniformly (paper §3.4). The draws come from one ``torch.Generator``
shared by the model's searched layers
(:func:`~cakes_mm.models.search.mutator.share_path_generator`): the search
hook creates it from the run's seed and saves its state in every checkpoint,
so that a resumed run draws the same paths. A layer without a generator
draws from torch's global generator. :func:`drawn_filters` takes a drawn
path's filters from an op's weight, and :func:`reserve_conv_plans` makes
room for the conv plans that drawn paths need on the CPU.
"""

import os
from typing import List, Optional, Sequence

import torch

#: The variable that sets how many primitives (conv plans among them)
#: oneDNN keeps; it reads it once, when the process creates its first.
ONEDNN_CACHE_VARIABLE = 'ONEDNN_PRIMITIVE_CACHE_CAPACITY'
#: The capacity :func:`reserve_conv_plans` asks for: four times oneDNN's
#: default of 1024.
CONV_PLAN_CACHE = 4096


def sample_paths(
    num_ops: int,
    channels: int,
    generator: Optional[torch.Generator] = None,
    device: Optional[torch.device] = None,
) -> torch.Tensor:
    """One op per channel, drawn uniformly, as a bool (num_ops, C) mask.

    Args:
        num_ops (int): Ops to draw from.
        channels (int): Output channels C.
        generator (torch.Generator, optional): A CPU generator. Defaults to
            None (torch's global generator).
        device (torch.device, optional): Where the mask goes. Defaults to
            None (the CPU).

    Returns:
        torch.Tensor: The mask, exactly one True per column.
    """
    drawn = torch.randint(num_ops, (channels,), generator=generator)
    mask = torch.zeros(num_ops, channels, dtype=torch.bool)
    mask[drawn, torch.arange(channels)] = True
    return mask.to(device) if device is not None else mask


def indices_to(
    indices: Sequence[torch.Tensor], device: torch.device
) -> List[torch.Tensor]:
    """CPU index tensors copied to ``device`` in one copy that the host
    does not wait for (:func:`host_to_device`).

    A copy from ordinary (pageable) host memory to a GPU first waits for
    all the work queued on the stream, which would stall every searched
    layer of a step; from pinned memory it is queued like a kernel.

    Args:
        indices (Sequence[torch.Tensor]): 1D integer tensors on the CPU.
        device (torch.device): Where they go.

    Returns:
        list[torch.Tensor]: The same tensors on ``device``, in order.
    """
    joined = host_to_device(torch.cat(list(indices)), device)
    return list(joined.split([len(index) for index in indices]))


def host_to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A CPU tensor on ``device``; on a GPU through pinned memory, so that
    neither the copy nor the host waits for the work queued before it.

    Args:
        tensor (torch.Tensor): On the CPU.
        device (torch.device): Where it goes.

    Returns:
        torch.Tensor: The copy (``tensor`` itself where ``device`` is the
        CPU).
    """
    if device.type == 'cuda':
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


class _DrawnFilters(torch.autograd.Function):
    """Rows of a parameter; the backward writes the gradient into zeros.

    ``param[rows]`` would do the same, but its backward accumulates into
    the zeros element by element (``index_put_`` with ``accumulate``):
    8.8 ms for a third of a 512x512x3x3x3 kernel on 2 CPU threads, against
    1.1 ms for the row copy here. The rows must be distinct.
    """

    @staticmethod
    def forward(ctx, param: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(rows)
        ctx.like = param.detach()
        return param[rows]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (rows,) = ctx.saved_tensors
        whole = torch.zeros_like(ctx.like)
        return whole.index_copy_(0, rows, grad), None


def drawn_filters(param: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``param[rows]`` for distinct ``rows``, with a fast backward.

    Args:
        param (torch.Tensor): An op's weight or bias, filters along dim 0.
        rows (torch.Tensor): Distinct filter indices, on ``param``'s device.

    Returns:
        torch.Tensor: The rows. Its gradient reaches ``param`` as a tensor
        of ``param``'s shape and layout, zero outside ``rows``.
    """
    return _DrawnFilters.apply(param, rows)


def reserve_conv_plans(capacity: int = CONV_PLAN_CACHE) -> None:
    """Let oneDNN keep ``capacity`` primitives, unless the process was
    given a capacity of its own (:data:`ONEDNN_CACHE_VARIABLE`).

    A drawn path gives every op of every searched layer a new number of
    channels in each step, so a CPU search keeps meeting conv shapes that
    oneDNN must plan (and compile) anew; its cache of 1024 plans holds
    fewer than a ResNet-50 supernet cycles through. Measured on the 1,2,3D
    supernet's step (8x224², batch 2, 2 threads, 40 steps): 6,943 plans
    made at the default, 80 ms a step, against 2,890 and 14 ms a step at
    4096. oneDNN reads the setting when the process makes its first
    primitive, so this must come before the first CPU conv to take effect.

    Args:
        capacity (int): Primitives to keep. Defaults to
            :data:`CONV_PLAN_CACHE`.
    """
    os.environ.setdefault(ONEDNN_CACHE_VARIABLE, str(capacity))
