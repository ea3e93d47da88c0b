"""Bring CAKES or PmSCn to an existing 3D network: functions, and registered
wrappers for configs."""

from .converters import (
    CONVERTED_OPS,
    ConversionReport,
    ReplacedLayer,
    convert_network,
    convert_to_cakes,
    convert_to_cakes_supernet,
    convert_to_pmscn,
    select_convs,
)
from .trace import trace_model
from .wrappers import (
    CAKESConverted,
    ConvertedNet,
    PmSCnConverted,
    build_network,
)

__all__ = [
    'CAKESConverted',
    'CONVERTED_OPS',
    'ConversionReport',
    'ConvertedNet',
    'PmSCnConverted',
    'ReplacedLayer',
    'build_network',
    'convert_network',
    'convert_to_cakes',
    'convert_to_cakes_supernet',
    'convert_to_pmscn',
    'select_convs',
    'trace_model',
]
