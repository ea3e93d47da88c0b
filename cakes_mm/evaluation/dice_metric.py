"""Per-class Dice of volumetric segmentations, with MONAI underneath, and
what every metric of volumetric label maps shares."""

import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric


def seg_field(
    sample: Any, name: str, metric: str = 'VolumeDiceMetric'
) -> torch.Tensor:
    """``sample[name]`` (a dict) or ``sample.name`` (a data sample).

    Args:
        sample (Any): A data sample or the dict mmengine made of it.
        name (str): The field, e.g. ``'pred_seg'``.
        metric (str): The metric asking, for the error message. Defaults
            to ``'VolumeDiceMetric'``.

    Returns:
        torch.Tensor: The field.
    """
    value = (
        sample.get(name)
        if isinstance(sample, dict)
        else getattr(sample, name, None)
    )
    if value is None:
        raise KeyError(f'{metric}: a data sample has no {name!r}')
    return torch.as_tensor(value)


class VolumeSegMetric(BaseMetric):
    """A metric that scores each volume's ``pred_seg`` against its
    ``gt_seg``: what :class:`VolumeDiceMetric` and
    ``VariationOfInformation`` share.

    Every data sample the model returns (a ``VolumeSegDataSample`` or the
    dict mmengine's evaluator makes of it) must hold both, LongTensors
    ``[1, D, H, W]`` on the same grid; :meth:`volumes` reads and checks
    them, naming the subclass in its errors.

    Args:
        collect_device (str): Where results are gathered across ranks.
            Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to None: the
            subclass's ``default_prefix``.
    """

    def __init__(
        self, collect_device: str = 'cpu', prefix: Optional[str] = None
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def volumes(
        self, data_samples: Sequence[Any]
    ) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        """Each data sample's prediction and ground truth, checked.

        Args:
            data_samples (Sequence): The model's outputs, with ``pred_seg``
                and ``gt_seg``.

        Yields:
            tuple[torch.Tensor, torch.Tensor]: ``pred_seg`` and ``gt_seg``,
            the latter on the former's device.

        Raises:
            KeyError: When a sample lacks either.
            ValueError: When they are not both ``[1, D, H, W]``.
        """
        metric = type(self).__name__
        for sample in data_samples:
            pred = seg_field(sample, 'pred_seg', metric)
            truth = seg_field(sample, 'gt_seg', metric).to(pred.device)
            if pred.shape != truth.shape or pred.dim() != 4:
                raise ValueError(
                    f'{metric}: pred_seg and gt_seg must both be '
                    f'[1, D, H, W], got {list(pred.shape)} and '
                    f'{list(truth.shape)}'
                )
            yield pred, truth


@METRICS.register_module()
class VolumeDiceMetric(VolumeSegMetric):
    """Dice of each foreground class, averaged over volumes, and their mean.

    What it reads: every data sample the model returns (a
    ``VolumeSegDataSample`` or the dict mmengine's evaluator makes of it)
    must hold ``pred_seg`` and ``gt_seg``, LongTensors ``[1, D, H, W]`` of
    class indices on the same grid. For each volume, MONAI's ``DiceMetric``
    computes every foreground class's Dice, 2|P∩G| / (|P| + |G|). A class's
    score is the mean over the volumes where it is counted, and
    ``dice/mean`` is the mean over the foreground classes that have a
    score (the paper's "average Dice"). Scores are fractions in [0, 1].

    A class absent from a volume's ground truth:

    * ``ignore_empty=True`` (default): the volume is not counted for that
      class, whatever the prediction. A class absent from every volume
      scores NaN and is left out of ``dice/mean``.
    * ``ignore_empty=False``: the volume scores 1 for that class if the
      prediction has none of it either, else 0.

    Keys are ``dice/<class name>`` and ``dice/mean``; the names come from
    ``class_names`` or else the dataset's ``metainfo['classes']``
    (``MSDDataset`` reads them from the json's ``labels``), index 0 being
    the background.

    Args:
        class_names (Sequence[str], optional): Every class's name,
            background first. Defaults to None: the dataset's classes.
        ignore_empty (bool): See above. Defaults to True.
        **kwargs: ``collect_device`` and ``prefix`` (by default
            ``'dice'``), by keyword, as :class:`VolumeSegMetric` takes them.
    """

    default_prefix = 'dice'

    def __init__(
        self,
        class_names: Optional[Sequence[str]] = None,
        ignore_empty: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.class_names = None if class_names is None else list(class_names)
        self.ignore_empty = ignore_empty

    def names(self) -> List[str]:
        """Every class's name, background first."""
        names = self.class_names
        if names is None and self.dataset_meta:
            names = self.dataset_meta.get('classes')
        if not names or len(names) < 2:
            raise ValueError(
                'VolumeDiceMetric needs the class names, background first: '
                'give class_names, or a dataset with metainfo["classes"]'
            )
        return list(names)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Score each volume of the batch (:meth:`volumes`) with MONAI's
        ``DiceMetric``; ``data_batch`` is unused."""
        from monai.metrics import DiceMetric

        dice = DiceMetric(
            include_background=False,
            reduction='none',
            ignore_empty=self.ignore_empty,
            num_classes=len(self.names()),
        )
        for pred, truth in self.volumes(data_samples):
            scores = dice(pred[None], truth[None])
            self.results.append(scores[0].float().cpu().numpy())

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        """Average the volumes' scores per class, then over classes.

        Args:
            results (list[np.ndarray]): One row of foreground scores per
                volume (NaN where not counted).

        Returns:
            dict[str, float]: Each foreground class's Dice and ``mean``.
        """
        names = self.names()[1:]
        scores = np.stack(results).reshape(len(results), len(names))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)  # all-NaN
            per_class = np.nanmean(scores, axis=0)
            mean = np.nanmean(per_class)
        metrics = {name: float(value) for name, value in zip(names, per_class)}
        metrics['mean'] = float(mean)
        return metrics
