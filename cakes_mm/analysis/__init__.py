from ..input_shape import default_input_shape, volume_input_shape
from .complexity import Complexity, count_complexity, model_complexity
from .model_zoo import (
    TABLE1,
    TABLE3,
    TABLE4_16_FRAMES,
    PaperRow,
    SegPaperRow,
    config_complexity,
    network_of,
    table1_rows,
    table3_rows,
)

__all__ = [
    'Complexity',
    'count_complexity',
    'model_complexity',
    'TABLE1',
    'TABLE3',
    'TABLE4_16_FRAMES',
    'PaperRow',
    'SegPaperRow',
    'config_complexity',
    'default_input_shape',
    'network_of',
    'table1_rows',
    'table3_rows',
    'volume_input_shape',
]
