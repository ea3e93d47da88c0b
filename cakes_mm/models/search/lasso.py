"""The cost-priority lasso (paper Eq. 13), a loss term any model can add.

In cost-priority search every op runs on every channel, and the loss adds
λ·Σ_layers Σ_op β_op·Σ_c |γ_op,c|, which pushes the path weights of
expensive ops towards zero. β defaults to the op's kernel volume / 39: 3D
9/13, 2D 3/13 and 1D 1/13, as in the paper.
"""

from typing import Dict, Optional

import torch
import torch.nn as nn
from mmaction.registry import MODELS

from ..layers.sub_kernels import default_cost_weights
from .mutator import search_layers


def cost_lasso(
    model: nn.Module,
    loss_weight: float = 1e-4,
    beta: Optional[Dict[str, float]] = None,
) -> Optional[torch.Tensor]:
    """λ·Σ β_op·Σ_c |γ_op,c| over the model's cost-priority searched layers.

    Args:
        model (nn.Module): Any model.
        loss_weight (float): λ. Defaults to 1e-4.
        beta (dict[str, float], optional): β per op name, overriding the
            defaults (kernel volume / 39). Defaults to None.

    Returns:
        torch.Tensor | None: A scalar, or None when the model has no
        cost-priority searched layer.
    """
    layers = [
        layer for _, layer in search_layers(model) if layer.mode == 'cost'
    ]
    if not layers:
        return None
    total = 0
    for layer in layers:
        weights = dict(default_cost_weights(layer.op_set), **(beta or {}))
        gamma = layer.search_bn.weight.view(len(layer.op_set), -1)
        scale = gamma.new_tensor([weights[op] for op in layer.op_set])
        total = total + (scale * gamma.abs().sum(dim=1)).sum()
    return loss_weight * total


@MODELS.register_module()
class CostLasso(nn.Module):
    """The cost-priority lasso as a loss module, logged as ``loss_alpha``.

    A model calls it with itself and merges the result into its losses; it
    gives nothing unless the model is in cost-priority search.

    Args:
        loss_weight (float): λ. Defaults to 1e-4 (the paper's).
        beta (dict[str, float], optional): β per op, overriding kernel
            volume / 39. Defaults to None.
        loss_name (str): The key of the term. Defaults to ``'loss_alpha'``.
    """

    def __init__(
        self,
        loss_weight: float = 1e-4,
        beta: Optional[Dict[str, float]] = None,
        loss_name: str = 'loss_alpha',
    ) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.beta = beta
        self.loss_name = loss_name

    def forward(self, model: nn.Module) -> Dict[str, torch.Tensor]:
        """``{loss_name: the lasso}`` in cost-priority search, else ``{}``.

        Args:
            model (nn.Module): The model being trained.

        Returns:
            dict[str, torch.Tensor]: At most one loss term.
        """
        loss = cost_lasso(model, self.loss_weight, self.beta)
        return {} if loss is None else {self.loss_name: loss}
