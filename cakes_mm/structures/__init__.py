"""Data structures of the volumetric (3D segmentation) half."""

from .volume_seg_data_sample import VolumeSegDataSample

__all__ = ['VolumeSegDataSample']
