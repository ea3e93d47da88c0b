"""What the CAKES search hooks read from a runner: its searched layers,
the architecture they currently derive, and the bare model."""

from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.model import is_model_wrapper

from ...models.arch import Arch
from ...models.search import CAKESSearchConv3d, dump_chosen, search_layers


def searched_layers(runner, hook: str) -> List[Tuple[str, CAKESSearchConv3d]]:
    """The runner's searched layers, or an error naming the hook.

    Args:
        runner (Runner): The runner whose model is searched.
        hook (str): The name of the hook that needs them, for the error.

    Returns:
        list[tuple[str, CAKESSearchConv3d]]: Name and layer, in order.
    """
    layers = search_layers(runner.model)
    if not layers:
        raise ValueError(
            f'{hook}: the model ({type(runner.model).__name__})'
            f' has no searchable layer (CAKESSearchConv3d); use a '
            f'supernet such as CAKESResNetSupernet, or convert a network '
            f"with ConvertedNet(op=dict(type='cakes_search', ...))"
        )
    return layers


def derive_arch(runner) -> Optional[Arch]:
    """The architecture the model derives now, or None when its α is not
    finite (the reason is logged as an error).

    Args:
        runner (Runner): The runner whose model is searched.

    Returns:
        list[dict[str, int]] | None: Op name to channel count, per layer.
    """
    try:
        return dump_chosen(runner.model)
    except ValueError as error:
        runner.logger.error(
            f'CAKES search: no architecture exported at '
            f'iteration {runner.iter}: {error}'
        )
        return None


def bare_model(runner) -> nn.Module:
    """The runner's model without its distributed wrapper.

    Args:
        runner (Runner): Any runner.

    Returns:
        nn.Module: The model itself.
    """
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def progress(runner) -> str:
    """Where training is, as the search hooks' log lines start.

    Args:
        runner (Runner): Any runner.

    Returns:
        str: E.g. ``'CAKES search at epoch 2, iteration 40'``.
    """
    return (
        f'CAKES search at epoch {runner.epoch + 1}, iteration '
        f'{runner.iter + 1}'
    )
