import torch.nn as nn

from cakes_mm.models.utils import unwrap_model


def test_unwrap_model_looks_through_a_wrapper_only():
    model = nn.Linear(2, 2)
    assert unwrap_model(model) is model
    # DataParallel is registered as a model wrapper, like DDP, and needs
    # no process group.
    assert unwrap_model(nn.DataParallel(model)) is model
    # A model merely holding a ``module`` attribute is not a wrapper.
    holder = nn.Sequential()
    holder.module = model
    assert unwrap_model(holder) is holder
