"""Derive the architecture of a CAKES search checkpoint, offline.

    python tools/search/export_arch.py CONFIG CHECKPOINT --out arch.json \
        [--derive argmax|topk]

CONFIG is the search config the checkpoint was trained with. The JSON it
writes plugs into a training config as ``model.backbone.arch``.
"""
import argparse

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cakes_mm  # noqa: F401  (registers the models, patches mmaction2)
from cakes_mm.compat import load_local_checkpoint
from cakes_mm.models.arch import save_arch
from mmaction.registry import MODELS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export the architecture found by a CAKES search')
    parser.add_argument('config', help='the search config')
    parser.add_argument('checkpoint', help='a checkpoint of that search')
    parser.add_argument('--out', required=True, help='the JSON to write')
    parser.add_argument(
        '--derive', choices=['argmax', 'topk'],
        help="override the config's derivation: 'argmax' per channel "
        "(paper Eq. 12) or 'topk' per layer (public code)")
    return parser.parse_args()


def search_state_dict(path: str) -> dict:
    """The model weights of a search checkpoint, or a clear error."""
    checkpoint = load_local_checkpoint(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else None
    if not isinstance(state, dict) or not any(
            '.search_bn.' in key for key in state):
        raise ValueError(
            f'{path} is not a checkpoint of a CAKES search supernet: it has '
            f'no searched BN (".search_bn.") weights to derive from')
    return state


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    if not cfg.model.backbone.get('search_mode'):
        raise SystemExit(f'{args.config}: not a search config '
                         f'(model.backbone.search_mode is not set)')
    model = MODELS.build(cfg.model)
    state = search_state_dict(args.checkpoint)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(
            f'{args.checkpoint} does not match {args.config}: missing '
            f'{missing[:5]}, unexpected {unexpected[:5]}')
    backbone = model.backbone
    if args.derive:
        for conv in backbone.search_convs():
            conv.derive = args.derive
    arch = backbone.dump_chosen()
    save_arch(arch, args.out)
    how = ('the frozen choice' if backbone.is_frozen else
           f"derived by {args.derive or cfg.model.backbone.get('derive')}")
    print(f'wrote {args.out}: {len(arch)} blocks, {how}')


if __name__ == '__main__':
    torch.set_grad_enabled(False)
    main()
