from .arch import released_archs, resolve_arch, save_arch, uniform_split
from .backbones import (CAKESBottleneck, CAKESResNet, PmSCnBasicBlock,
                        PmSCnResNet)
from .cakes_conv import CAKESConv3d
from .p3d_conv import P3DConv3d
from .recognizers import CAKESRecognizer3D
from .search_conv import CAKESSearchConv3d, derive_mask
from .pmscn_block import PmSCn
from .sub_kernels import SUB_KERNEL_NAMES

__all__ = [
    'CAKESBottleneck', 'CAKESConv3d', 'CAKESRecognizer3D', 'CAKESResNet',
    'CAKESSearchConv3d', 'P3DConv3d', 'derive_mask', 'PmSCn',
    'PmSCnBasicBlock', 'PmSCnResNet', 'SUB_KERNEL_NAMES', 'released_archs',
    'resolve_arch', 'save_arch', 'uniform_split'
]
