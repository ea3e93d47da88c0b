"""Params and FLOPs, counted the way the CAKES paper counts them.

Conventions (printed by ``tools/analysis/get_flops.py``):

* FLOPs are multiply-adds (one MAC = one FLOP), the paper's convention.
* Counted: every convolution (C_in/groups x kernel volume MACs per output
  element) and every linear layer (in_features MACs per output element).
  BN, activations, pooling and residual additions are not counted.
* Params are all parameters of the model, the classifier included.

The forward pass runs on PyTorch's ``meta`` device on a copy of the model:
only shapes are computed, so counting a full-size 3D ResNet-50 costs no
arithmetic and no memory.
"""

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn as nn

from ..models.layers import CAKESConv3d

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass
class Complexity:
    """Params and multiply-adds of one model on one input shape.

    Args:
        params (int): Number of parameters.
        flops (int): Multiply-adds of convs and linear layers.
    """

    params: int
    flops: int

    @property
    def params_m(self) -> float:
        """Params in millions."""
        return self.params / 1e6

    @property
    def gflops(self) -> float:
        """Multiply-adds in billions."""
        return self.flops / 1e9


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of one conv or linear call, from its output shape."""
    if isinstance(module, _CONVS):
        per_output = (module.in_channels // module.groups) * int(
            torch.tensor(module.kernel_size).prod()
        )
    else:
        per_output = module.in_features
    return output.numel() * per_output


def count_complexity(
    model: nn.Module, forward: Callable[[nn.Module], object]
) -> Complexity:
    """Count params and MACs of ``model`` over one call of ``forward``.

    Args:
        model (nn.Module): The model; it is copied to the meta device, the
            original is left untouched.
        forward (Callable[[nn.Module], object]): Runs the meta copy on a meta
            input, e.g. ``lambda m: m(torch.empty(shape, device='meta'))``.

    Returns:
        Complexity: params and multiply-adds.
    """
    params = sum(p.numel() for p in model.parameters())
    meta = copy.deepcopy(model).to('meta')
    meta.eval()  # not chained: mmaction2's ResNet.train() returns None
    for module in meta.modules():
        if isinstance(module, CAKESConv3d):
            module.set_plan('split')  # each sub-kernel's own MACs
    total = [0]

    def hook(module, inputs, output):
        total[0] += _macs(module, output)

    handles = [
        m.register_forward_hook(hook)
        for m in meta.modules()
        if isinstance(m, _CONVS + (nn.Linear,))
    ]
    try:
        with torch.no_grad():
            forward(meta)
    finally:
        for handle in handles:
            handle.remove()
    return Complexity(params=params, flops=total[0])


def model_complexity(model: nn.Module, shape: Sequence[int]) -> Complexity:
    """Params and MACs of a backbone, or of a recognizer with its head.

    Args:
        model (nn.Module): A backbone taking (N, C, T, H, W), or an mmaction2
            recognizer (counted as backbone, then ``cls_head``).
        shape (Sequence[int]): The input shape (N, C, T, H, W).

    Returns:
        Complexity: params and multiply-adds.
    """

    def forward(meta: nn.Module):
        x = torch.empty(tuple(shape), device='meta')
        if hasattr(meta, 'backbone'):
            feats = meta.backbone(x)
            return (
                meta.cls_head(feats)
                if getattr(meta, 'cls_head', None) is not None
                else feats
            )
        return meta(x)

    return count_complexity(model, forward)
