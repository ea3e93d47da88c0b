"""Which module feeds which: one forward pass of a model, traced.

Conversion must know what follows a conv: the norm whose scale becomes the
path weight in search, or the conv that PmSCn pairs it with. Module order
can mislead (a pre-activation network registers the next layer's norm right
after a conv), so the model runs once on a ``meta`` copy, where only shapes
are computed, and every leaf module's call is recorded with the tensors it
took and gave. A module "follows" a conv when it is called on the very
tensor the conv returned.
"""

import copy
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd
from torch.nn.modules.instancenorm import _InstanceNorm

#: Modules that act on each element (or channel) alone: a chain of them may
#: sit between two convs that PmSCn replaces as one unit.
ELEMENTWISE = (
    _BatchNorm,
    _InstanceNorm,
    _DropoutNd,
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Sigmoid,
    nn.Tanh,
)
NORMS = (_BatchNorm, _InstanceNorm)


@dataclass
class Call:
    """One call of a leaf module.

    Args:
        name (str): The module's dotted name.
        inputs (tuple[int]): ``id()`` of each tensor argument.
        output (int): ``id()`` of the tensor it returned (0 for none).
    """

    name: str
    inputs: Tuple[int, ...]
    output: int


class Trace:
    """The calls of one forward pass, in order.

    Args:
        calls (list[Call]): Every leaf module call.
    """

    def __init__(self, calls: List[Call]) -> None:
        self.calls = calls
        self.times_called: Dict[str, int] = {}
        for call in calls:
            self.times_called[call.name] = (
                self.times_called.get(call.name, 0) + 1
            )

    def index_of(self, name: str) -> Optional[int]:
        """The position of module ``name``'s first call, or None."""
        return next(
            (i for i, c in enumerate(self.calls) if c.name == name), None
        )

    def next_call(self, index: Optional[int]) -> Optional[int]:
        """The call that takes the output of call ``index`` next.

        A module that works in place gives back its input; the tensor then
        goes on to whatever takes it after that module. Otherwise the
        output must have exactly one taker: a branch (a skip connection,
        say) gives None.

        Args:
            index (int, optional): A call's position.

        Returns:
            int | None: The next call's position.
        """
        if index is None or not self.calls[index].output:
            return None
        output = self.calls[index].output
        users = [
            j
            for j in range(index + 1, len(self.calls))
            if output in self.calls[j].inputs
        ]
        if not users:
            return None
        if self.calls[users[0]].output == output or len(users) == 1:
            return users[0]
        return None


def trace_model(model: nn.Module, input_shape: Sequence[int]) -> Trace:
    """Run ``model`` once on a meta copy and record its leaf calls.

    Args:
        model (nn.Module): The network; it is not changed.
        input_shape (Sequence[int]): Its input, e.g. (1, 3, 16, 32, 32).

    Returns:
        Trace: The calls.

    Raises:
        ValueError: When the forward pass fails on that input.
    """
    meta = copy.deepcopy(model).to('meta')
    calls: List[Call] = []
    keep = []  # tensors stay alive, so that their ids stay unique

    def record(name):
        def hook(module, args, output):
            tensors = [a for a in args if torch.is_tensor(a)]
            keep.extend(tensors + [output])
            calls.append(
                Call(
                    name,
                    tuple(id(t) for t in tensors),
                    id(output) if torch.is_tensor(output) else 0,
                )
            )

        return hook

    handles = [
        m.register_forward_hook(record(name))
        for name, m in meta.named_modules()
        if name and not list(m.children())
    ]
    try:
        with torch.no_grad():
            meta(torch.empty(tuple(input_shape), device='meta'))
    except Exception as error:  # any failure of the user's forward
        raise ValueError(
            f'tracing {type(model).__name__} on an input of shape '
            f'{tuple(input_shape)} failed ({type(error).__name__}: {error});'
            f' pass the input_shape the network takes'
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    return Trace(calls)
