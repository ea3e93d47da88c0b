"""Derive the architecture of a CAKES search checkpoint, offline.

    python tools/search/export_arch.py CONFIG CHECKPOINT --out arch.json \
        [--derive argmax|topk]

CONFIG is the search config the checkpoint was trained with: any model with
searched layers (a CAKES ResNet supernet, a converted network). The JSON it
writes has one entry per searched layer in module order, and plugs into a
training config as the fixed network's ``arch``.
"""

import argparse

import torch
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

import cakes_mm  # noqa: F401  (registers the models, patches mmaction2)
from cakes_mm.checkpoint.safe_load import load_local_checkpoint
from cakes_mm.config_names import read_config
from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.models.arch import save_arch
from cakes_mm.models.search import (
    dump_chosen,
    is_frozen,
    search_layers,
    set_derive,
)


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def search_state_dict(path: str) -> dict:
    """The model weights of a search checkpoint, or a clear error."""
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


def main() -> None:
    args = parse_args()
    cfg = read_config(args.config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    if not search_layers(model):
        raise SystemExit(
            f'{args.config}: not a search config (its model '
            f'has no searched layer)'
        )
    state = search_state_dict(args.checkpoint)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(
            f'{args.checkpoint} does not match {args.config}: missing '
            f'{missing[:5]}, unexpected {unexpected[:5]}'
        )
    if args.derive:
        set_derive(model, args.derive)
    arch = dump_chosen(model)
    save_arch(arch, args.out)
    derive = search_layers(model)[0][1].derive
    how = 'the frozen choice' if is_frozen(model) else f'derived by {derive}'
    print(f'wrote {args.out}: {len(arch)} searched layers, {how}')


if __name__ == '__main__':
    silence_irrelevant_warnings()
    torch.set_grad_enabled(False)
    main()
