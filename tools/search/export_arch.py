"""Derive the architecture of a CAKES search checkpoint, offline.

    python tools/search/export_arch.py CONFIG CHECKPOINT --out arch.json \
        [--derive argmax|topk]

CONFIG is the search config the checkpoint was trained with. The arguments
and what they do are :mod:`cakes_mm.apis.export_arch`'s.
"""

import torch

from cakes_mm.apis.export_arch import main
from cakes_mm.environment import silence_irrelevant_warnings

if __name__ == '__main__':
    silence_irrelevant_warnings()
    torch.set_grad_enabled(False)
    main()
