"""Derive the architecture of a CAKES search checkpoint, offline.

The code of ``tools/search/export_arch.py``: :func:`main` takes its
command line, :func:`export_arch` does the work.

    python tools/search/export_arch.py CONFIG CHECKPOINT --out arch.json \
        [--derive argmax|topk]

CONFIG is the search config the checkpoint was trained with: any model with
searched layers (a CAKES ResNet supernet, a converted network). The JSON it
writes has one entry per searched layer in module order, and plugs into a
training config as the fixed network's ``arch``.
"""

import argparse
from typing import Optional, Tuple

import torch
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

from ..checkpoint.safe_load import load_local_checkpoint
from ..config_names import read_config
from ..models.arch import Arch, save_arch
from ..models.search import dump_chosen, is_frozen, search_layers, set_derive


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Export the architecture found by a CAKES search'
    )
    parser.add_argument('config', help='the search config')
    parser.add_argument('checkpoint', help='a checkpoint of that search')
    parser.add_argument('--out', required=True, help='the JSON to write')
    parser.add_argument(
        '--derive',
        choices=['argmax', 'topk'],
        help="override the config's derivation: 'argmax' per channel "
        "(paper Eq. 12) or 'topk' per layer (public code)",
    )
    return parser.parse_args(argv)


def search_state_dict(path: str) -> dict:
    """The model weights of a search checkpoint, or a clear error.

    Args:
        path (str): The checkpoint.

    Returns:
        dict: Its state dict.

    Raises:
        ValueError: When it holds no searched BN weights.
    """
    checkpoint = load_local_checkpoint(path, map_location='cpu')
    state = (
        checkpoint.get('state_dict', checkpoint)
        if isinstance(checkpoint, dict)
        else None
    )
    if not isinstance(state, dict) or not any(
        '.search_bn.' in key for key in state
    ):
        raise ValueError(
            f'{path} is not a checkpoint of a CAKES search supernet: it has '
            f'no searched BN (".search_bn.") weights to derive from'
        )
    return state


def export_arch(
    config: str, checkpoint: str, out: str, derive: Optional[str] = None
) -> Tuple[Arch, str]:
    """Write the arch a search checkpoint derives as arch JSON.

    Args:
        config (str): The search config.
        checkpoint (str): A checkpoint of that search.
        out (str): The JSON to write.
        derive (str, optional): ``'argmax'`` or ``'topk'`` in place of the
            config's derivation. Defaults to None.

    Returns:
        tuple[list[dict[str, int]], str]: The arch, and how it was chosen
        (``'the frozen choice'`` or ``'derived by argmax'``, say).

    Raises:
        SystemExit: When the config's model has no searched layer, or the
            checkpoint does not fit it.
        ValueError: When the checkpoint is not a search's.
    """
    cfg = read_config(config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    if not search_layers(model):
        raise SystemExit(
            f'{config}: not a search config (its model has no searched layer)'
        )
    state = search_state_dict(str(checkpoint))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(
            f'{checkpoint} does not match {config}: missing '
            f'{missing[:5]}, unexpected {unexpected[:5]}'
        )
    if derive:
        set_derive(model, derive)
    with torch.no_grad():
        arch = dump_chosen(model)
    save_arch(arch, str(out))
    chosen_by = search_layers(model)[0][1].derive
    how = (
        'the frozen choice' if is_frozen(model) else f'derived by {chosen_by}'
    )
    return arch, how


def main(argv=None) -> None:
    """Export, as ``tools/search/export_arch.py`` with the arguments
    ``argv``, and say what was written."""
    args = parse_args(argv)
    arch, how = export_arch(
        args.config, args.checkpoint, args.out, args.derive
    )
    print(f'wrote {args.out}: {len(arch)} searched layers, {how}')
