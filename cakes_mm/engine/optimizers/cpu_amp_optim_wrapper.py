"""Mixed precision on the CPU: mmengine's ``AmpOptimWrapper`` needs a GPU,
so ``tools/train.py --amp`` on a machine without one uses this wrapper.

The forward pass runs under ``torch.autocast('cpu', dtype=torch.bfloat16)``:
convolutions and matrix products in bf16, reductions and losses in fp32.
bf16 has fp32's exponent range, so no loss scaling is needed (the gradients
are fp32, as the parameters are).
"""

import contextlib
from typing import Iterator

import torch
import torch.nn as nn
from mmaction.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper

DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """An optimizer wrapper whose forward passes run in CPU autocast.

    Args:
        dtype (str): ``'bfloat16'`` (the default; what CPUs compute fast) or
            ``'float16'``.
        **kwargs: Those of mmengine's ``OptimWrapper`` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype not in DTYPES:
            raise ValueError(
                f'CPUAmpOptimWrapper: dtype must be one of '
                f'{sorted(DTYPES)}, got {dtype!r}'
            )
        super().__init__(**kwargs)
        self.cast_dtype = DTYPES[dtype]

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """mmengine's context (gradient accumulation), under autocast.

        Args:
            model (nn.Module): The model being trained.
        """
        with (
            super().optim_context(model),
            torch.autocast('cpu', dtype=self.cast_dtype),
        ):
            yield
