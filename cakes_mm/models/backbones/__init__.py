from .cakes_resnet import CAKESBottleneck, CAKESResNet
from .pmscn_resnet import PmSCnBasicBlock, PmSCnResNet

__all__ = ['CAKESBottleneck', 'CAKESResNet', 'PmSCnBasicBlock', 'PmSCnResNet']
