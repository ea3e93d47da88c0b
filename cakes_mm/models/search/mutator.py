"""The search state of a whole model, in mmrazor's vocabulary.

A model of any kind is searchable when it contains
:class:`~cakes_mm.models.search.search_conv.CAKESSearchConv3d` layers, built
by a supernet class or by converting a network
(:func:`~cakes_mm.models.convert.convert_to_cakes_supernet`). These
functions find them and act on all of them together; the search hook and the
tools use nothing else.
"""

from typing import Callable, List, Tuple

import torch
import torch.nn as nn

from ..arch import Arch
from ..utils import unwrap_model
from .search_conv import CAKESSearchConv3d


def search_layers(model: nn.Module) -> List[Tuple[str, CAKESSearchConv3d]]:
    """The searched layers of any model, in module order, with their names.

    Args:
        model (nn.Module): Any model; DDP and mmengine wrappers are looked
            through.

    Returns:
        list[tuple[str, CAKESSearchConv3d]]: ``(name, layer)`` pairs.
    """
    return [
        (name, module)
        for name, module in unwrap_model(model).named_modules()
        if isinstance(module, CAKESSearchConv3d)
    ]


def dump_chosen(model: nn.Module) -> Arch:
    """The arch a supernet stands for now: one dict per searched layer.

    Args:
        model (nn.Module): A model with searched layers.

    Returns:
        list[dict[str, int]]: Plain ints, ready for JSON.

    Raises:
        ValueError: When the model has no searched layer, or α is not
            finite.
    """
    layers = search_layers(model)
    if not layers:
        raise ValueError(
            f'{type(model).__name__} has no searched layer '
            f'(CAKESSearchConv3d): nothing to dump'
        )
    return [layer.dump_chosen() for _, layer in layers]


def fix_chosen(model: nn.Module) -> None:
    """Freeze every searched layer on its derived choice.

    Args:
        model (nn.Module): A model with searched layers.
    """
    for _, layer in search_layers(model):
        layer.fix_chosen()


def is_frozen(model: nn.Module) -> bool:
    """Whether every searched layer is frozen (False without any).

    Args:
        model (nn.Module): Any model.

    Returns:
        bool: True once :func:`fix_chosen` has run.
    """
    layers = search_layers(model)
    return bool(layers) and all(
        layer.fixed_on_cpu is not None for _, layer in layers
    )


def set_derive(model: nn.Module, derive: str) -> None:
    """Use another derivation (``'argmax'`` or ``'topk'``) in every layer.

    Args:
        model (nn.Module): A model with searched layers.
        derive (str): The derivation.
    """
    for _, layer in search_layers(model):
        layer.derive = derive


def share_path_generator(model: nn.Module, seed: int) -> torch.Generator:
    """Give every searched layer of ``model`` one new path generator.

    Args:
        model (nn.Module): Any model with searched layers.
        seed (int): The generator's seed.

    Returns:
        torch.Generator: The generator, whose state a checkpoint keeps.
    """
    generator = torch.Generator().manual_seed(seed)
    for _, layer in search_layers(model):
        layer.generator = generator
    return generator


def draw_paths_before_calls(model: nn.Module) -> Callable[[], None]:
    """Make the searched layers take their paths from the caller, as a
    replayed CUDA graph needs (it runs no Python, so nothing in it draws).

    Args:
        model (nn.Module): A performance-priority supernet.

    Returns:
        callable: Draws the next step's path in every searched layer, in
        module order (the order the calls draw in); call it before each
        step.
    """
    layers = [layer for _, layer in search_layers(model)]
    for layer in layers:
        layer.draws_in_forward = False

    def draw() -> None:
        for layer in layers:
            layer.draw_path()

    return draw
