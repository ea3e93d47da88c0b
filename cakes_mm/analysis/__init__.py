from .complexity import Complexity, count_complexity, model_complexity
from .model_zoo import (TABLE3, TABLE4_16_FRAMES, PaperRow, config_complexity,
                        default_input_shape, table3_rows)

__all__ = [
    'Complexity', 'count_complexity', 'model_complexity', 'TABLE3',
    'TABLE4_16_FRAMES', 'PaperRow', 'config_complexity',
    'default_input_shape', 'table3_rows'
]
