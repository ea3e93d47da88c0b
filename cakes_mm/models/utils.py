"""Module paths: find, replace and link submodules by their dotted names;
a model without its distributed wrapper."""

from typing import Tuple

import torch.nn as nn
from mmengine.model import is_model_wrapper

#: A path from one module to another: (levels up, then the dotted path down).
Link = Tuple[int, str]


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside a DDP or mmengine model wrapper, else the model.

    Args:
        model (nn.Module): A model, wrapped or not.

    Returns:
        nn.Module: The model itself.
    """
    return model.module if is_model_wrapper(model) else model


def set_module(model: nn.Module, path: str, module: nn.Module) -> None:
    """Replace the submodule at ``path`` (e.g. ``'layer1.0.conv2'``).

    Args:
        model (nn.Module): The root.
        path (str): The dotted name, as ``named_modules()`` gives it.
        module (nn.Module): The new submodule.
    """
    parent, _, name = path.rpartition('.')
    setattr(model.get_submodule(parent), name, module)


def link_between(source: str, target: str) -> Link:
    """How to reach ``target`` from ``source``, whatever the root.

    Args:
        source (str): A dotted module path.
        target (str): Another one, under the same root.

    Returns:
        tuple[int, str]: Levels to go up from ``source``, then the path
        down; ``'layer1.0.conv2'`` to ``'layer1.0.bn2'`` is ``(1, 'bn2')``.
    """
    src, dst = source.split('.'), target.split('.')
    common = 0
    while common < min(len(src), len(dst)) and src[common] == dst[common]:
        common += 1
    return len(src) - common, '.'.join(dst[common:])


def follow_link(source: str, link: Link) -> str:
    """The path :func:`link_between` leads to from ``source``.

    Args:
        source (str): A dotted module path.
        link (tuple[int, str]): From :func:`link_between`.

    Returns:
        str: The target's dotted path.
    """
    up, down = link
    parts = source.split('.')[: len(source.split('.')) - up]
    return '.'.join(parts + ([down] if down else []))
