"""Variation of information between instance segmentations, with
scikit-image underneath."""

from typing import Any, Dict, List, Sequence

import numpy as np
from mmaction.registry import METRICS
from skimage.metrics import variation_of_information

from .dice_metric import VolumeSegMetric


@METRICS.register_module()
class VariationOfInformation(VolumeSegMetric):
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
        **kwargs: ``collect_device`` and ``prefix`` (by default ``'vi'``),
            by keyword, as :class:`VolumeSegMetric` takes them.
    """

    default_prefix = 'vi'

    def __init__(
        self,
        ignore_labels: Sequence[int] = (0,),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.ignore_labels = tuple(int(label) for label in ignore_labels)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Score each volume of the batch (:meth:`volumes`) by its split
        and merge entropies; ``data_batch`` is unused."""
        for pred, truth in self.volumes(data_samples):
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
