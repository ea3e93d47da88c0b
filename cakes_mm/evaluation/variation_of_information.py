"""Variation of information between instance segmentations, with
scikit-image underneath."""

from typing import Any, Dict, List, Sequence

import numpy as np
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from skimage.metrics import variation_of_information

from .dice_metric import seg_field


@METRICS.register_module()
class VariationOfInformation(BaseMetric):
    """Split and merge variation of information, averaged over volumes.

    What it reads: every data sample must hold ``pred_seg`` (the predicted
    segment ids, e.g. from ``AffinitySegmentor``) and ``gt_seg`` (the
    instance ids), LongTensors ``[1, D, H, W]`` on the same grid. For each
    volume, scikit-image's ``variation_of_information`` gives the two
    conditional entropies, in bits:

    * ``vi/split``: H(prediction | truth), the over-segmentation (false
      splits);
    * ``vi/merge``: H(truth | prediction), the under-segmentation (false
      merges);
    * ``vi/total``: their sum, the variation of information.

    Lower is better; a prediction equal to the truth up to renaming the
    segments scores 0. The voxels whose truth is one of ``ignore_labels``
    (by default the background, 0) are not counted.

    Args:
        ignore_labels (Sequence[int]): Truth labels left out. Defaults to
            ``(0, )``.
        collect_device (str): Where results are gathered across ranks.
            Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to None: ``'vi'``.
    """

    default_prefix = 'vi'

    def __init__(
        self,
        ignore_labels: Sequence[int] = (0,),
        collect_device: str = 'cpu',
        prefix: str = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_labels = tuple(int(label) for label in ignore_labels)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Score each volume of the batch.

        Args:
            data_batch (Any): The batch (unused).
            data_samples (Sequence): The model's outputs, with ``pred_seg``
                and ``gt_seg``.
        """
        for sample in data_samples:
            pred = seg_field(sample, 'pred_seg', type(self).__name__)
            truth = seg_field(sample, 'gt_seg', type(self).__name__)
            if pred.shape != truth.shape or pred.dim() != 4:
                raise ValueError(
                    'VariationOfInformation: pred_seg and gt_seg must both '
                    f'be [1, D, H, W], got {list(pred.shape)} and '
                    f'{list(truth.shape)}'
                )
            split, merge = variation_of_information(
                truth.cpu().numpy(),
                pred.cpu().numpy(),
                ignore_labels=self.ignore_labels,
            )
            self.results.append((float(split), float(merge)))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Average the volumes' split and merge entropies.

        Args:
            results (list[tuple]): ``(split, merge)`` per volume.

        Returns:
            dict[str, float]: ``split``, ``merge`` and ``total``.
        """
        split, merge = np.mean(np.asarray(results), axis=0)
        return dict(
            split=float(split), merge=float(merge), total=float(split + merge)
        )
