from .complexity import Complexity, count_complexity, model_complexity
from .model_zoo import (
    TABLE1,
    TABLE3,
    TABLE4_16_FRAMES,
    PaperRow,
    SegPaperRow,
    config_complexity,
    default_input_shape,
    network_of,
    table1_rows,
    table3_rows,
    volume_input_shape,
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
