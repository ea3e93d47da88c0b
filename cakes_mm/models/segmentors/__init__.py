"""Volumetric segmentors: semantic (Dice + CE, argmax) and instance (EM
affinities, connected components), with their batch handling and the
sliding window."""

from .affinities import affinity_targets, segment_affinities
from .affinity_segmentor import AffinitySegmentor
from .base import BaseVolumeSegmentor
from .data_preprocessor import VolumeSegDataPreprocessor, stack_volumes
from .sliding_window import SlidingWindow, stride_to_overlap
from .volume_segmentor import VolumeSegmentor

__all__ = [
    'AffinitySegmentor',
    'BaseVolumeSegmentor',
    'SlidingWindow',
    'VolumeSegDataPreprocessor',
    'VolumeSegmentor',
    'affinity_targets',
    'segment_affinities',
    'stack_volumes',
    'stride_to_overlap',
]
