"""The CAKES convolution: a channel-wise mix of sub-kernels.

:class:`CAKESConv3d` is a drop-in replacement for a k x k x k ``nn.Conv3d``
(same stride, dilation, bias and padding mode). Its output channels are
split into groups, one per sub-kernel, in the order of ``choice``; each group
is a ``Conv3d`` with that sub-kernel's size and the padding that keeps the
size. It knows nothing of any network.

The groups' channels come out one after the other. ``channel_order``
optionally puts them back at given output positions: a network converted
from a search supernet keeps channel c where the supernet had it.

The forward pass computes the groups in *blocks*, each one conv over the
zero-padded kernels of several groups, chosen per layer and device by the
rule of :mod:`~cakes_mm.models.layers.conv_plan`; ``plan='split'`` keeps one
conv per group. Both give the same output and gradients.
"""

from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ...deprecation import UNSET
from .channel_permutation import permuted_columns
from .conv_plan import (
    Block,
    block_width,
    box_conv,
    box_size,
    pad_to_box,
    plan_blocks,
)
from .flat_conv import takes_unvectorised_path
from .kernel_shrinking import inflate_kernel, shrink_kernel, split_filters
from .sub_kernels import (
    IntOr3,
    SubKernelConv3d,
    check_op_set,
    uniform_split,
)

PLANS = ('auto', 'split')
#: A fused block's kernel and its bias (None without biases).
KernelAndBias = Tuple[torch.Tensor, Optional[torch.Tensor]]
#: The device types a plan is made for; any other uses ``'other'``'s.
PLANNED_DEVICES = ('cpu', 'other')


def placement(
    positions: torch.Tensor, width: int
) -> Tuple[torch.Tensor, bool]:
    """How to put channels at ``positions`` of a ``width``-wide output,
    decided on the CPU (so that it costs no wait for the device).

    Args:
        positions (torch.Tensor): The output channel of each channel.
        width (int): Channels of the output.

    Returns:
        tuple[torch.Tensor, bool]: ``(order, True)`` where one channel goes
        to each position (a permutation: an index select by ``order``),
        else ``(positions, False)`` (channels that share a position are
        summed into a zero output).
    """
    positions = positions.cpu()
    if positions.numel() == width and torch.equal(
        torch.bincount(positions, minlength=width), torch.ones_like(positions)
    ):
        return torch.argsort(positions), True
    return positions, False


def gather_channels(y: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``y.index_select(1, order)`` for a permutation ``order`` of ``y``'s
    channels, in ``y``'s memory layout.

    ``index_select`` first copies a ``channels_last`` / ``channels_last_3d``
    tensor to the default layout and returns that layout, so every later
    layer would run in it (and a norm's backward then mixes layouts, which
    is slow on the CPU); its backward scatters into zeros. On such a tensor
    the channels are instead gathered along the last axis of its
    channels-last view, and the backward gathers the gradient by the inverse
    permutation. A trace (an ONNX export) keeps ``index_select``.

    Args:
        y (torch.Tensor): (N, C, ...).
        order (torch.Tensor): A permutation of ``range(C)``.

    Returns:
        torch.Tensor: ``y``'s channels in that order, in ``y``'s layout.
    """
    if _is_channels_last(y) and not torch.jit.is_tracing():
        return _ChannelPermutation.apply(y, order)
    return y.index_select(1, order)


def _is_channels_last(y: torch.Tensor) -> bool:
    """Whether ``y`` is in ``channels_last`` (4D) or ``channels_last_3d``
    (5D) and not also in the default layout."""
    layout = {4: torch.channels_last, 5: torch.channels_last_3d}.get(y.dim())
    return (
        layout is not None
        and not y.is_contiguous()
        and y.is_contiguous(memory_format=layout)
    )


def _take_channels(y: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``y``'s channels in ``order``, gathered in ``y``'s layout."""
    if _is_channels_last(y):
        # The (voxels, C) rows' columns permuted, by the C kernel where it
        # loads, else by index_select (2.3x as fast as indexing the last
        # axis: 1.4 against 3.3 ms at 2x64x8x56², 2 threads).
        rows = y.movedim(1, -1)
        flat = rows.reshape(-1, rows.shape[-1])
        taken = permuted_columns(flat, order)
        if taken is None:
            taken = flat.index_select(1, order)
        return taken.view(rows.shape).movedim(-1, 1)
    return y.index_select(1, order)


class _ChannelPermutation(torch.autograd.Function):
    """A permutation of a channels-last tensor's channels, whose backward is
    the inverse permutation (see :func:`gather_channels`)."""

    @staticmethod
    def forward(ctx, y: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(order)
        return _take_channels(y, order)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (order,) = ctx.saved_tensors
        return _take_channels(grad, torch.argsort(order)), None


def place_channels(
    y: torch.Tensor, index: torch.Tensor, gather: bool, width: int
) -> torch.Tensor:
    """Put the channels of ``y`` where :func:`placement` said.

    Args:
        y (torch.Tensor): (N, C, ...).
        index (torch.Tensor): :func:`placement`'s index, on ``y``'s device.
        gather (bool): :func:`placement`'s flag.
        width (int): Channels of the output.

    Returns:
        torch.Tensor: (N, width, ...).
    """
    if gather:
        return gather_channels(y, index)
    out = y.new_zeros((y.shape[0], width) + y.shape[2:])
    return out.index_add(1, index, y)


class CAKESConv3d(SubKernelConv3d):
    """A 3D convolution whose output channels use different sub-kernels.

    Args:
        in_channels (int): Input channels.
        choice (dict[str, int]): Output channels per sub-kernel name, in
            group order, e.g. ``{'1xkxk': 40, 'kx1x1': 24}``. Ops with zero
            channels are allowed and build nothing.
        stride (int | Sequence[int]): Stride along (T, H, W); an int applies
            to every axis, as in ``nn.Conv3d``. Defaults to 1.
        kernel_size (int): The full kernel size k (odd). Defaults to 3.
        bias (bool): Whether each group has a bias. Defaults to False.
        dilation (int | Sequence[int]): Dilation, as in ``nn.Conv3d``; an
            axis a sub-kernel lacks is not dilated. Defaults to 1.
        padding_mode (str): As in ``nn.Conv3d``. Defaults to ``'zeros'``.
        channel_order (Sequence[int], optional): The output position of each
            grouped channel, a permutation of ``range(out_channels)``; None
            keeps the groups in order. Defaults to None.
        plan (str): ``'auto'`` computes the groups in the blocks that
            :func:`~cakes_mm.models.layers.conv_plan.plan_blocks` picks for
            the input's device; ``'split'`` runs one conv per group.
            Defaults to ``'auto'``.
        device (torch.device, optional): Where to build the convs. Defaults
            to None.
        dtype (torch.dtype, optional): Their dtype. Defaults to None.
        kernel (int, optional): Deprecated name of ``kernel_size``.
    """

    def __init__(
        self,
        in_channels: int,
        choice: Dict[str, int],
        stride: IntOr3 = 1,
        kernel_size: int = 3,
        bias: bool = False,
        dilation: IntOr3 = 1,
        padding_mode: str = 'zeros',
        channel_order: Optional[Sequence[int]] = None,
        plan: str = 'auto',
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
        kernel: int = UNSET,
    ) -> None:
        super().__init__(
            in_channels, kernel_size, stride, dilation, padding_mode, kernel
        )
        check_op_set(list(choice))
        if self.kernel_size % 2 != 1:
            raise ValueError(
                f'kernel_size must be odd, got {self.kernel_size}'
            )
        self.out_channels = sum(choice.values())
        self.choice = dict(choice)
        self.convs = self.make_convs(
            {name: count for name, count in self.choice.items() if count > 0},
            bias,
            device,
            dtype,
        )
        self.register_buffer('channel_order', None)
        #: ``channel_order`` on the CPU, for planning wherever the layer is.
        self.order_on_cpu: Optional[torch.Tensor] = None
        #: The blocks of each planned device type (see ``PLANNED_DEVICES``).
        self.blocks: Dict[str, Tuple[Block, ...]] = {}
        for kind in PLANNED_DEVICES:
            self.register_buffer(f'gather_{kind}', None, persistent=False)
        #: Each fused block's (kernel, bias) while they are held as plain
        #: tensors (:meth:`hold_block_kernels`); None otherwise.
        self.held_kernels: Optional[Dict[Block, KernelAndBias]] = None
        self.set_plan(plan)
        if channel_order is not None:
            self.set_channel_order(channel_order)

    @classmethod
    def uniform(
        cls,
        in_channels: int,
        out_channels: int,
        op_set: Sequence[str],
        **kwargs: Any,
    ) -> 'CAKESConv3d':
        """Build with the width split evenly over ``op_set``.

        Args:
            in_channels (int): Input channels.
            out_channels (int): Output channels.
            op_set (Sequence[str]): Sub-kernel names; the remainder of the
                split goes to the first.
            **kwargs: Passed to the constructor (stride, kernel, bias, ...).

        Returns:
            CAKESConv3d: The conv.
        """
        return cls(in_channels, uniform_split(out_channels, op_set), **kwargs)

    def set_channel_order(self, order: Sequence[int]) -> None:
        """Place the grouped channels at ``order`` in the output.

        Args:
            order (Sequence[int]): A permutation of ``range(out_channels)``.
        """
        order = torch.as_tensor(order, dtype=torch.long).cpu()
        if not torch.equal(
            torch.sort(order).values, torch.arange(self.out_channels)
        ):
            raise ValueError(
                f'channel_order must be a permutation of '
                f'0..{self.out_channels - 1}, got '
                f'{order.tolist()}'
            )
        device = next(iter(self.convs.values())).weight.device
        self.channel_order = order.to(device)
        self.order_on_cpu = order
        self._make_plans()

    def set_plan(self, plan: str) -> None:
        """Compute the groups as ``plan`` says from now on (the FLOPs count
        uses ``'split'``: the sub-kernels' own multiply-adds).

        Args:
            plan (str): ``'auto'`` or ``'split'`` (see the class doc).
        """
        if plan not in PLANS:
            raise ValueError(f'plan must be one of {PLANS}, got {plan!r}')
        self.plan = plan
        self._make_plans()

    def _make_plans(self) -> None:
        """Choose the blocks for each planned device type, and the gather
        that puts their channels where ``channel_order`` says."""
        groups = [name for name, count in self.choice.items() if count > 0]
        weight = next(iter(self.convs.values())).weight
        for kind in PLANNED_DEVICES:
            if self.plan == 'split':
                blocks = tuple((name,) for name in groups)
            else:
                device = torch.device('cpu' if kind == 'cpu' else 'meta')
                blocks = plan_blocks(
                    self.choice, block_width(device), self.in_channels
                )
            self.blocks[kind] = blocks
            setattr(self, f'gather_{kind}', self._gather(blocks, weight))

    def _gather(
        self, blocks: Tuple[Block, ...], like: torch.Tensor
    ) -> Optional[torch.Tensor]:
        """The output index of each channel of the blocks' concatenation,
        or None when they are already in place."""
        starts, offset = {}, 0
        for name, count in self.choice.items():
            starts[name] = offset
            offset += count
        # Group-order channel of each concatenated channel, then its inverse.
        # On the CPU whatever the default device (a meta build, say).
        cpu = torch.device('cpu')
        source = torch.cat(
            [
                torch.arange(
                    starts[name], starts[name] + self.choice[name], device=cpu
                )
                for block in blocks
                for name in block
            ]
        )
        position = torch.argsort(source)
        if self.order_on_cpu is not None:
            position = position[torch.argsort(self.order_on_cpu)]
        if torch.equal(position, torch.arange(self.out_channels, device=cpu)):
            return None
        return position.to(like.device)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Take ``channel_order`` from a checkpoint that has one."""
        key = f'{prefix}channel_order'
        if key in state_dict and self.channel_order is None:
            self.set_channel_order(state_dict[key].cpu())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run every block; concatenate them, placed by ``channel_order``."""
        kind = 'cpu' if x.device.type == 'cpu' else 'other'
        outs = [self._run_block(x, block) for block in self.blocks[kind]]
        y = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        gather = getattr(self, f'gather_{kind}')
        return y if gather is None else gather_channels(y, gather)

    def _run_block(self, x: torch.Tensor, block: Block) -> torch.Tensor:
        """One conv computing the groups of ``block``, in block order (a
        lone group by its own conv, unless PyTorch would run that conv on
        its unvectorised kernel, which :func:`box_conv` avoids)."""
        if len(block) == 1:
            conv = self.convs[block[0]]
            if not isinstance(conv, nn.Conv3d) or not takes_unvectorised_path(
                x, conv.weight, conv.stride, conv.dilation, 1
            ):
                return conv(x)  # (a converter may have replaced the conv)
            weight, bias = conv.weight, conv.bias
        elif self.held_kernels is not None:
            weight, bias = self.held_kernels[block]
        else:
            weight, bias = self.block_kernel(block)
        return box_conv(
            x, weight, bias, box_size(block, self.kernel_size), self
        )

    def block_kernel(self, block: Block) -> KernelAndBias:
        """The kernel of a fused block, its groups' weights zero-padded to
        their box and concatenated, and their biases (or None).

        Args:
            block (tuple[str, ...]): Sub-kernel names, as in :attr:`blocks`.

        Returns:
            tuple[torch.Tensor, torch.Tensor | None]: The kernel and bias.
        """
        convs = [self.convs[name] for name in block]
        box = box_size(block, self.kernel_size)
        weight = torch.cat([pad_to_box(conv.weight, box) for conv in convs])
        bias = None
        if convs[0].bias is not None:
            bias = torch.cat([conv.bias for conv in convs])
        return weight, bias

    def hold_block_kernels(self, hold: bool = True) -> None:
        """Compute each fused block's kernel once and keep it as a plain
        tensor, which a tracer takes as a constant, or stop doing so.

        A trace that follows the padding of the weights leaves the padded
        kernel's shape unknown to the ONNX exporter, which then cannot
        export the conv; :func:`~cakes_mm.deployment.onnx_bytes` holds
        the kernels while it traces. Held kernels do not follow later
        changes of the weights.

        Args:
            hold (bool): Hold them (True) or drop them (False). Defaults
                to True.
        """
        self.held_kernels = None
        if hold:
            fused = {
                block
                for blocks in self.blocks.values()
                for block in blocks
                if len(block) > 1
            }
            with torch.no_grad():
                self.held_kernels = {
                    block: self.block_kernel(block) for block in fused
                }

    def inflate_from_2d(
        self, weight2d: torch.Tensor, mode: str = 'sum'
    ) -> None:
        """Initialise from a 2D kernel, splitting its filters over groups.

        Args:
            weight2d (torch.Tensor): A (C_out, C_in, k, k) 2D kernel, its
                filters in group order.
            mode (str): ``'sum'`` or ``'mean'`` for the dropped axes of 1D
                and volumetric sub-kernels. Defaults to ``'sum'``.
        """
        self._fill(
            weight2d, lambda part, name: inflate_kernel(part, name, mode)
        )

    def shrink_from(self, conv: nn.Conv3d) -> None:
        """Take a trained k x k x k conv's weights and bias by the shrinking
        rule: each group keeps its filters, summed over the axes its
        sub-kernel lacks.

        Args:
            conv (nn.Conv3d): The conv this one replaces, with the same
                output channels in group order.
        """
        self._fill(conv.weight, shrink_kernel)
        if conv.bias is not None:
            biases = split_filters(conv.bias, self.choice.values())
            with torch.no_grad():
                for (name, _), part in zip(self.choice.items(), biases):
                    if name in self.convs:
                        self.convs[name].bias.copy_(part)

    def _fill(self, weight: torch.Tensor, make) -> None:
        """Give each group ``make(its filters of weight, its name)``."""
        filters = split_filters(weight, self.choice.values())
        with torch.no_grad():
            for (name, _), part in zip(self.choice.items(), filters):
                if name in self.convs:
                    self.convs[name].weight.copy_(make(part, name))

    def extra_repr(self) -> str:
        return (
            f'{self.in_channels}, {self.choice}, stride={self.stride}, '
            f'kernel_size={self.kernel_size}, blocks={self.blocks["cpu"]}'
        )
