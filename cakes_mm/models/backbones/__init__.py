from .cakes_resnet import CAKESBottleneck, CAKESResNet
from .cakes_resnet_supernet import CAKESResNetSupernet
from .pmscn_resnet import PmSCnBasicBlock, PmSCnResNet

__all__ = [
    'CAKESBottleneck',
    'CAKESResNet',
    'CAKESResNetSupernet',
    'PmSCnBasicBlock',
    'PmSCnResNet',
]
