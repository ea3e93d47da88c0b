"""Semantic segmentation of volumes: one class per voxel."""

from typing import Dict, Union

import torch
from mmaction.registry import MODELS

from ..convert import build_network
from .base import BaseVolumeSegmentor

#: The papers' loss: Dice plus cross-entropy, on softmax outputs against
#: one-hot labels.
DEFAULT_LOSS = dict(
    type='monai.losses.DiceCELoss', to_onehot_y=True, softmax=True
)


@MODELS.register_module()
class VolumeSegmentor(BaseVolumeSegmentor):
    """A network that gives K class logits per voxel.

    Trained with ``loss`` (by default MONAI's ``DiceCELoss``: Dice plus
    cross-entropy, as in CAKES) on the crops, logged as ``loss_seg``;
    tested by the sliding window, each voxel taking its argmax class. See
    :class:`BaseVolumeSegmentor` for the modes and the other arguments.

    Example:
        >>> model = VolumeSegmentor(
        ...     network=dict(type='monai.networks.nets.BasicUNet',
        ...                  spatial_dims=3, in_channels=1, out_channels=3),
        ...     test_cfg=dict(roi_size=96, stride=32, sw_batch_size=2))

    Args:
        network (dict | nn.Module): The network, ``out_channels`` = K.
        loss (dict): A loss module called as ``loss(logits, labels)`` with
            labels ``[N, 1, D, H, W]``; ``type`` is a registered name or a
            dotted import path. Defaults to ``DiceCELoss(to_onehot_y=True,
            softmax=True)``; other arguments of MONAI's ``DiceCELoss``
            (``lambda_dice``, ``lambda_ce``, ``include_background``, ...)
            may be added.
        **kwargs: ``test_cfg``, ``arch_loss``, ``data_preprocessor`` and
            ``init_cfg``, by keyword, as :class:`BaseVolumeSegmentor` takes
            them.
    """

    def __init__(
        self,
        network: Union[dict, torch.nn.Module],
        loss: dict = DEFAULT_LOSS,
        **kwargs,
    ) -> None:
        super().__init__(network, **kwargs)
        self.criterion = build_network(loss)

    def seg_losses(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> Dict[str, torch.Tensor]:
        """``loss_seg``: the loss of the logits against the labels."""
        return {'loss_seg': self.criterion(outputs, targets)}

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """Each voxel's most likely class, ``[1, D, H, W]``."""
        return outputs.argmax(dim=1)
