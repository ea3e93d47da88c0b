"""The CAKES convolution: a channel-wise mix of sub-kernels.

:class:`CAKESConv3d` is a drop-in replacement for a k x k x k ``nn.Conv3d``
(same stride, dilation, bias and padding mode). Its output channels are
split into groups, one per sub-kernel, in the order of ``choice``; each group
is a ``Conv3d`` with that sub-kernel's size and the padding that keeps the
size. It knows nothing of any network.

The groups' channels come out one after the other. ``channel_order``
optionally puts them back at given output positions: a network converted
from a search supernet keeps channel c where the supernet had it.
"""

from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.utils import _triple

from .kernel_shrinking import inflate_kernel, shrink_kernel, split_filters
from .sub_kernels import (
    IntOr3,
    check_op_set,
    make_sub_kernel_conv,
    uniform_split,
)


def place_channels(
    y: torch.Tensor, positions: torch.Tensor, width: int
) -> torch.Tensor:
    """Put the channels of ``y`` at ``positions`` of a ``width``-wide output.

    One channel per position (a permutation) is an index select; otherwise
    the output starts at zero and channels that share a position are summed.

    Args:
        y (torch.Tensor): (N, C, ...) with C == len(positions).
        positions (torch.Tensor): The output channel of each channel of y.
        width (int): Channels of the output.

    Returns:
        torch.Tensor: (N, width, ...).
    """
    if positions.numel() == width and torch.equal(
        torch.bincount(positions, minlength=width), torch.ones_like(positions)
    ):
        return y.index_select(1, torch.argsort(positions))
    out = y.new_zeros((y.shape[0], width) + y.shape[2:])
    return out.index_add(1, positions, y)


class CAKESConv3d(nn.Module):
    """A 3D convolution whose output channels use different sub-kernels.

    Args:
        in_channels (int): Input channels.
        choice (dict[str, int]): Output channels per sub-kernel name, in
            group order, e.g. ``{'1xkxk': 40, 'kx1x1': 24}``. Ops with zero
            channels are allowed and build nothing.
        stride (int | Sequence[int]): Stride along (T, H, W); an int applies
            to every axis, as in ``nn.Conv3d``. Defaults to 1.
        kernel (int): The full kernel size k (odd). Defaults to 3.
        bias (bool): Whether each group has a bias. Defaults to False.
        dilation (int | Sequence[int]): Dilation, as in ``nn.Conv3d``; an
            axis a sub-kernel lacks is not dilated. Defaults to 1.
        padding_mode (str): As in ``nn.Conv3d``. Defaults to ``'zeros'``.
        channel_order (Sequence[int], optional): The output position of each
            grouped channel, a permutation of ``range(out_channels)``; None
            keeps the groups in order. Defaults to None.
        device (torch.device, optional): Where to build the convs. Defaults
            to None.
        dtype (torch.dtype, optional): Their dtype. Defaults to None.
    """

    def __init__(
        self,
        in_channels: int,
        choice: Dict[str, int],
        stride: IntOr3 = 1,
        kernel: int = 3,
        bias: bool = False,
        dilation: IntOr3 = 1,
        padding_mode: str = 'zeros',
        channel_order: Optional[Sequence[int]] = None,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        check_op_set(list(choice))
        if kernel % 2 != 1:
            raise ValueError(f'kernel must be odd, got {kernel}')
        self.in_channels = in_channels
        self.out_channels = sum(choice.values())
        self.choice = dict(choice)
        self.stride = _triple(stride)
        self.kernel = kernel
        self.convs = nn.ModuleDict(
            {
                name: make_sub_kernel_conv(
                    name,
                    in_channels,
                    count,
                    kernel,
                    stride,
                    dilation,
                    bias,
                    padding_mode,
                    device,
                    dtype,
                )
                for name, count in self.choice.items()
                if count > 0
            }
        )
        self.register_buffer('channel_order', None)
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

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Take ``channel_order`` from a checkpoint that has one."""
        key = f'{prefix}channel_order'
        if key in state_dict and self.channel_order is None:
            self.set_channel_order(state_dict[key].cpu())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run every group; concatenate them, placed by ``channel_order``."""
        outs = [conv(x) for conv in self.convs.values()]
        y = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        if self.channel_order is None:
            return y
        return y.index_select(1, torch.argsort(self.channel_order))

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
            f'kernel={self.kernel}'
        )
