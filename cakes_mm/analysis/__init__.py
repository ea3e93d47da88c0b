from .complexity import Complexity, count_complexity, model_complexity

__all__ = ['Complexity', 'count_complexity', 'model_complexity']
