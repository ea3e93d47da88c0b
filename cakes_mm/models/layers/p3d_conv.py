"""The layer-wise P3D baseline: a 2D conv followed by a 1D temporal conv."""

import torch
import torch.nn as nn
from torch.nn.modules.utils import _triple

from ...deprecation import UNSET, renamed_argument
from .kernel_shrinking import inflate_kernel
from .sub_kernels import IntOr3


class P3DConv3d(nn.Module):
    """A serial pseudo-3D conv: (1,k,k) C_in→C_in, then (k,1,1) C_in→C_out.

    There is no norm or activation between the two convs: the pair replaces
    one 3x3x3 conv and is followed by the block's own BN and ReLU.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int | Sequence[int]): (T, H, W) stride of the 2D conv, as
            in ``nn.Conv3d``. Defaults to 1.
        kernel_size (int): The kernel size k (odd). Defaults to 3.
        kernel (int, optional): Deprecated name of ``kernel_size``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: IntOr3 = 1,
        kernel_size: int = 3,
        kernel: int = UNSET,
    ) -> None:
        super().__init__()
        kernel = renamed_argument(
            'P3DConv3d', 'kernel', kernel, 'kernel_size', kernel_size
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.spatial = nn.Conv3d(
            in_channels,
            in_channels,
            (1, kernel, kernel),
            stride=_triple(stride),
            padding=(0, kernel // 2, kernel // 2),
            bias=False,
        )
        self.temporal = nn.Conv3d(
            in_channels,
            out_channels,
            (kernel, 1, 1),
            padding=(kernel // 2, 0, 0),
            bias=False,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial conv, then temporal conv."""
        return self.temporal(self.spatial(x))

    def inflate_from_2d(
        self, weight2d: torch.Tensor, mode: str = 'sum'
    ) -> None:
        """Copy the 2D kernel into the spatial conv; make the temporal conv
        an identity, so the pair starts as the 2D conv on any clip.

        Args:
            weight2d (torch.Tensor): A (C_out, C_in, k, k) 2D kernel with
                C_out == C_in.
            mode (str): Unused (the copy is exact); kept for a common
                signature with :meth:`CAKESConv3d.inflate_from_2d`.
        """
        if self.in_channels != self.out_channels:
            raise ValueError(
                'P3D inflation needs C_in == C_out, got '
                f'{self.in_channels} and {self.out_channels}'
            )
        with torch.no_grad():
            self.spatial.weight.copy_(inflate_kernel(weight2d, '1xkxk'))
            identity = torch.zeros_like(self.temporal.weight)
            centre = identity.shape[2] // 2
            channels = torch.arange(self.out_channels)
            identity[channels, channels, centre] = 1.0
            self.temporal.weight.copy_(identity)
