from .cakes_resnet import CAKESBottleneck, CAKESResNet

__all__ = ['CAKESBottleneck', 'CAKESResNet']
