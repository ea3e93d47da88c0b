from .arch import released_archs, resolve_arch, save_arch, uniform_split
from .backbones import CAKESBottleneck, CAKESResNet
from .cakes_conv import CAKESConv3d
from .p3d_conv import P3DConv3d
from .sub_kernels import SUB_KERNEL_NAMES

__all__ = [
    'CAKESBottleneck', 'CAKESConv3d', 'CAKESResNet', 'P3DConv3d',
    'SUB_KERNEL_NAMES', 'released_archs', 'resolve_arch', 'save_arch',
    'uniform_split'
]
