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
from torch.overrides import TorchFunctionMode

#: Modules that act on each element, channel (or, for a group norm, group
#: of channels) alone: a chain of them may sit between two convs that PmSCn
#: replaces as one unit.
ELEMENTWISE = (
    _BatchNorm,
    _InstanceNorm,
    nn.GroupNorm,
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
    """One call of a leaf module, or of a function outside them.

    Args:
        name (str): The module's dotted name, or the function's name and
            ``()``, e.g. ``'cat()'``.
        inputs (tuple[int]): ``id()`` of each tensor argument.
        output (int): ``id()`` of the tensor it returned (0 for none).
        is_module (bool): Whether a module was called. Defaults to True.
    """

    name: str
    inputs: Tuple[int, ...]
    output: int
    is_module: bool = True


def tensors_in(args: Sequence, kwargs: Dict) -> List[torch.Tensor]:
    """The tensors among a call's arguments, and in lists among them."""
    found = []
    for arg in list(args) + list(kwargs.values()):
        items = arg if isinstance(arg, (list, tuple)) else [arg]
        found += [item for item in items if torch.is_tensor(item)]
    return found


class FunctionRecorder(TorchFunctionMode):
    """Records the functions called outside leaf modules that return a
    tensor (not ``x.shape`` and the like, which read no data).

    Args:
        calls (list[Call]): Where calls go, shared with the module hooks.
        keep (list[torch.Tensor]): Tensors kept alive, so that ids stay
            unique.
    """

    def __init__(self, calls: List[Call], keep: List[torch.Tensor]) -> None:
        super().__init__()
        self.calls = calls
        self.keep = keep
        #: Leaf modules now running; their inner calls are not recorded.
        self.depth = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        if self.depth == 0 and torch.is_tensor(output):
            tensors = tensors_in(args, kwargs)
            self.keep.extend(tensors + [output])
            name = getattr(func, '__name__', type(func).__name__)
            self.calls.append(
                Call(
                    f'{name}()',
                    tuple(id(t) for t in tensors),
                    id(output),
                    is_module=False,
                )
            )
        return output


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
    keep: List[torch.Tensor] = []
    recorder = FunctionRecorder(calls, keep)

    def enter(module, args):
        recorder.depth += 1

    def record(name):
        def hook(module, args, output):
            recorder.depth -= 1
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

    leaves = [
        (name, m)
        for name, m in meta.named_modules()
        if name and not list(m.children())
    ]
    handles = [m.register_forward_pre_hook(enter) for _, m in leaves]
    handles += [m.register_forward_hook(record(name)) for name, m in leaves]
    try:
        with torch.no_grad(), recorder:
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
