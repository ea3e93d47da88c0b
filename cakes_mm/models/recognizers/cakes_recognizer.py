"""A Recognizer3D that adds the CAKES cost-priority lasso to its losses."""
from typing import Dict

import torch

from mmaction.models import Recognizer3D
from mmaction.registry import MODELS
from mmaction.utils import SampleList


@MODELS.register_module()
class CAKESRecognizer3D(Recognizer3D):
    """mmaction2's Recognizer3D plus the backbone's architecture loss.

    In cost-priority search the backbone's ``alpha_loss()`` (λ·Σ β·Σ|γ|,
    paper Eq. 13) is added as its own entry, ``loss_alpha``, so it is summed
    into the total loss and logged on its own. With any other backbone this
    recognizer behaves exactly as Recognizer3D.
    """

    def loss(self, inputs: torch.Tensor, data_samples: SampleList,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Classification losses, plus ``loss_alpha`` in cost search."""
        losses = super().loss(inputs, data_samples, **kwargs)
        if getattr(self.backbone, 'search_mode', None) == 'cost':
            losses['loss_alpha'] = self.backbone.alpha_loss()
        return losses
