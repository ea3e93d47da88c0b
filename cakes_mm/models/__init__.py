from .arch import released_archs, resolve_arch, save_arch
from .backbones import (
    CAKESBottleneck,
    CAKESResNet,
    CAKESResNetSupernet,
    PmSCnBasicBlock,
    PmSCnResNet,
)
from .convert import (
    CAKESConverted,
    ConvertedNet,
    PmSCnConverted,
    convert_network,
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
)
from .layers import (
    SUB_KERNEL_NAMES,
    CAKESConv3d,
    P3DConv3d,
    PmSCn,
    uniform_split,
)
from .ops import OPS, parse_op
from .recognizers import CAKESRecognizer3D
from .search import CAKESSearchConv3d, CostLasso
from .segmentors import (
    AffinitySegmentor,
    VolumeSegDataPreprocessor,
    VolumeSegmentor,
)
from .volumetric import C2FNAS, DenseNet3D, UNet3D

__all__ = [
    'AffinitySegmentor',
    'C2FNAS',
    'DenseNet3D',
    'UNet3D',
    'VolumeSegDataPreprocessor',
    'VolumeSegmentor',
    'CAKESBottleneck',
    'CAKESConv3d',
    'CAKESConverted',
    'CAKESRecognizer3D',
    'CAKESResNet',
    'CAKESResNetSupernet',
    'CAKESSearchConv3d',
    'ConvertedNet',
    'CostLasso',
    'P3DConv3d',
    'PmSCn',
    'PmSCnBasicBlock',
    'PmSCnConverted',
    'PmSCnResNet',
    'OPS',
    'SUB_KERNEL_NAMES',
    'convert_network',
    'convert_to_cakes',
    'convert_to_cakes_supernet',
    'convert_to_pmscn',
    'parse_op',
    'released_archs',
    'resolve_arch',
    'save_arch',
    'uniform_split',
]
