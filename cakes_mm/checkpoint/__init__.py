"""Checkpoint utilities: converters from other code bases' checkpoints."""

from .official_cakes import (
    OfficialCheckpointError,
    convert_official_checkpoint,
    convert_official_state_dict,
    load_official_state_dict,
    official_arch_names,
    read_class_names,
    reorder_classes,
)

__all__ = [
    'OfficialCheckpointError',
    'convert_official_checkpoint',
    'convert_official_state_dict',
    'load_official_state_dict',
    'official_arch_names',
    'read_class_names',
    'reorder_classes',
]
