"""Bring CAKES or PmSCn to an existing 3D network: functions, and registered
wrappers for configs."""

from .converters import (
    ConversionReport,
    ReplacedLayer,
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
    select_convs,
)
from .trace import trace_model
from .wrappers import CAKESConverted, PmSCnConverted, build_network

__all__ = [
    'CAKESConverted',
    'ConversionReport',
    'PmSCnConverted',
    'ReplacedLayer',
    'build_network',
    'convert_to_cakes',
    'convert_to_cakes_supernet',
    'convert_to_pmscn',
    'select_convs',
    'trace_model',
]
