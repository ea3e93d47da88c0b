"""Instance segmentation of EM volumes through affinities (PmSCn §4.3,
after Funke et al.)."""

from typing import Dict, Union

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS

from .affinities import affinity_targets, segment_affinities
from .base import BaseVolumeSegmentor


@MODELS.register_module()
class AffinitySegmentor(BaseVolumeSegmentor):
    """A network that predicts the D, H and W affinities of every voxel.

    The ground truth ``gt_seg`` holds instance ids (0 the background; an
    ``MSDDataset`` with ``instance_labels=True``). Training: the network's
    three output channels are affinity logits, compared with the
    affinities of the labels (:func:`affinity_targets`) by a per-voxel
    binary cross-entropy, averaged over the affinities that exist (logged
    as ``loss_affinity``). Testing: the sliding window's logits become
    probabilities, which are thresholded and split into connected
    components (:func:`segment_affinities`); ``pred_seg`` holds the
    segment ids, to be scored by ``VariationOfInformation``. See
    :class:`BaseVolumeSegmentor` for the modes and the other arguments.

    Args:
        network (dict | nn.Module): The network, ``out_channels=3``.
        threshold (float): The affinity probability above which two
            neighbours join. Defaults to 0.5.
        pos_weight (float): Weight of the positive affinities in the
            cross-entropy. Defaults to 1.
        **kwargs: ``test_cfg``, ``arch_loss``, ``data_preprocessor`` and
            ``init_cfg``, by keyword, as :class:`BaseVolumeSegmentor` takes
            them.
    """

    def __init__(
        self,
        network: Union[dict, torch.nn.Module],
        threshold: float = 0.5,
        pos_weight: float = 1.0,
        **kwargs,
    ) -> None:
        super().__init__(network, **kwargs)
        if not 0 < threshold < 1:
            raise ValueError(
                f'AffinitySegmentor: threshold must be in '
                f'(0, 1), got {threshold}'
            )
        self.threshold = threshold
        self.pos_weight = pos_weight

    @staticmethod
    def _check_channels(outputs: torch.Tensor) -> None:
        """Refuse outputs that are not three affinity channels."""
        if outputs.shape[1] != 3:
            raise ValueError(
                f'AffinitySegmentor: the network gives {outputs.shape[1]} '
                f'output channels; it must give the 3 affinities (set its '
                f'out_channels=3)'
            )

    def seg_losses(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> Dict[str, torch.Tensor]:
        """``loss_affinity``: the masked binary cross-entropy."""
        self._check_channels(outputs)
        affinities, mask = affinity_targets(targets[:, 0])
        per_voxel = F.binary_cross_entropy_with_logits(
            outputs,
            affinities,
            reduction='none',
            pos_weight=outputs.new_tensor(self.pos_weight),
        )
        loss = (per_voxel * mask).sum() / mask.sum().clamp(min=1)
        return {'loss_affinity': loss}

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """The segments of one volume's affinity logits, ``[1, D, H, W]``."""
        self._check_channels(outputs)
        probabilities = outputs[0].sigmoid().float().cpu().numpy()
        segments = segment_affinities(probabilities, self.threshold)
        return torch.from_numpy(segments)[None].to(outputs.device)
