"""The operations: CAKES sub-kernels and convs, the P3D conv and the PmSCn
unit. They know nothing of any network."""

from .cakes_conv import CAKESConv3d, place_channels, placement
from .kernel_shrinking import inflate_kernel, shrink_kernel
from .p3d_conv import P3DConv3d
from .pmscn import PmSCn, eq5_mid_channels
from .sub_kernels import (
    SUB_KERNEL_NAMES,
    check_op_set,
    default_cost_weights,
    kernel_size,
    kernel_volume,
    spanned_axes,
    uniform_split,
)

__all__ = [
    'CAKESConv3d',
    'P3DConv3d',
    'PmSCn',
    'SUB_KERNEL_NAMES',
    'check_op_set',
    'default_cost_weights',
    'eq5_mid_channels',
    'inflate_kernel',
    'kernel_size',
    'kernel_volume',
    'place_channels',
    'placement',
    'shrink_kernel',
    'spanned_axes',
    'uniform_split',
]
