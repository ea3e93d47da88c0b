"""Volumetric segmentation networks of the CAKES and PmSCn papers, with
MONAI's calling convention and a selectable op in their replaceable convs.
"""

from .base import VolumetricNet, parse_op
from .c2fnas import C2FNAS
from .densenet3d import DenseNet3D
from .unet3d import UNet3D

__all__ = ['C2FNAS', 'DenseNet3D', 'UNet3D', 'VolumetricNet', 'parse_op']
