"""A Recognizer3D that adds the model's architecture loss to its losses."""

from typing import Dict, Optional

import torch
from mmaction.models import Recognizer3D
from mmaction.registry import MODELS
from mmaction.utils import SampleList


@MODELS.register_module()
class CAKESRecognizer3D(Recognizer3D):
    """mmaction2's Recognizer3D plus an architecture loss.

    The architecture loss (by default the cost-priority lasso,
    :class:`~cakes_mm.models.search.CostLasso`) is called with the whole
    recognizer and its terms are added to the losses, each logged on its own
    (``loss_alpha``). It gives nothing unless the model contains searched
    layers in cost-priority mode, so with any other backbone this recognizer
    behaves exactly as Recognizer3D.

    Args:
        *args: Recognizer3D's arguments (backbone, cls_head, ...).
        arch_loss (dict, optional): Config of the architecture loss; None
            adds none. Defaults to ``dict(type='CostLasso')`` (λ = 1e-4,
            β = kernel volume / 39).
        **kwargs: Recognizer3D's keyword arguments.
    """

    def __init__(
        self,
        *args,
        arch_loss: Optional[Dict] = dict(type='CostLasso'),
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.arch_loss = None if arch_loss is None else MODELS.build(arch_loss)

    def loss(
        self, inputs: torch.Tensor, data_samples: SampleList, **kwargs
    ) -> Dict[str, torch.Tensor]:
        """Classification losses, plus the architecture loss's terms."""
        losses = super().loss(inputs, data_samples, **kwargs)
        if self.arch_loss is not None:
            losses.update(self.arch_loss(self))
        return losses
