"""What the CAKES search hooks read from a runner: its searched layers and
the architecture they currently derive."""

from typing import Hashable, List, Optional, Tuple
from weakref import WeakKeyDictionary

from ...models.arch import Arch
from ...models.search import CAKESSearchConv3d, dump_chosen, search_layers
from ...models.utils import unwrap_model

#: The arch each model derived last, with what it was derived from
#: (:func:`derivation_key`): ``{model: (key, arch or None)}``.
_derived: WeakKeyDictionary = WeakKeyDictionary()


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


def derivation_key(runner) -> Hashable:
    """What the derived arch depends on: the iteration, and each searched
    layer's α (its searched BN weight, by identity and by the version
    counter every in-place change such as an optimizer step or a loaded
    checkpoint bumps) and derivation.

    The iteration alone would not do: an epoch's end and the next epoch's
    first iteration see the same ``runner.iter``, one training step apart.
    A freeze (``fix_chosen``) is not part of it: it fixes exactly the
    choice the current α derives.

    Args:
        runner (Runner): The runner whose model is searched.

    Returns:
        tuple: Equal for two calls that would derive the same arch.
    """
    return (
        runner.iter,
        tuple(
            (id(layer.search_bn.weight), layer.search_bn.weight._version)
            + (layer.derive,)
            for _, layer in search_layers(runner.model)
        ),
    )


def derive_arch(runner) -> Optional[Arch]:
    """The architecture the model derives now, or None when its α is not
    finite (the reason is logged as an error, once).

    The hooks that report at the same moment (:class:`FreezeSubnetHook`,
    :class:`LogArchHook`, :class:`EstimateResourcesHook`,
    :class:`DumpArchHook`) share one derivation: it is kept per model
    until the iteration or α changes (:func:`derivation_key`).

    Args:
        runner (Runner): The runner whose model is searched.

    Returns:
        list[dict[str, int]] | None: Op name to channel count, per layer;
        a copy of its own for each caller.
    """
    model = unwrap_model(runner.model)
    key = derivation_key(runner)
    cached = _derived.get(model)
    if cached is not None and cached[0] == key:
        arch = cached[1]
    else:
        try:
            arch = dump_chosen(model)
        except ValueError as error:
            runner.logger.error(
                f'CAKES search: no architecture exported at '
                f'iteration {runner.iter}: {error}'
            )
            arch = None
        _derived[model] = (key, arch)
    return None if arch is None else [dict(choice) for choice in arch]


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
