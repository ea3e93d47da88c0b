"""Metrics of the volumetric half."""
from .dice_metric import VolumeDiceMetric

__all__ = ['VolumeDiceMetric']
