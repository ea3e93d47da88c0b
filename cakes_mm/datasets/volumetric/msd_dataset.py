"""NIfTI image/label pairs in the Medical Segmentation Decathlon layout."""

from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Union

import torch
from mmaction.registry import DATASETS
from mmengine.dataset import BaseDataset

from ..errors import BadSampleError
from ..sample_checks import SampleChecksMixin
from .decathlon_json import class_names, load_decathlon_json, select_cases
from .monai_pipeline import build_pipeline, is_random, reseed
from .nifti_checks import (
    check_finite,
    check_instance_ids,
    check_label_values,
    check_same_grid,
    first_unreadable,
    read_grid,
)
from .volume_packing import pack_volume

if TYPE_CHECKING:
    from monai.transforms import Compose


def load_step_end(pipeline: 'Compose') -> int:
    """Where the pipeline has loaded the pair: one past its ``LoadImaged``.

    Args:
        pipeline (Compose): The transforms.

    Returns:
        int: The index of the first transform after the loader.
    """
    from monai.transforms import LoadImaged

    for position, transform in enumerate(pipeline.transforms):
        if isinstance(transform, LoadImaged):
            if not {'image', 'label'} <= set(transform.keys):
                break
            return position + 1
    raise ValueError(
        'MSDDataset: the pipeline must load the pair with '
        "dict(type='LoadImaged', keys=['image', 'label'])"
    )


@DATASETS.register_module()
class MSDDataset(SampleChecksMixin, BaseDataset):
    """Image/label NIfTI pairs listed in a Decathlon ``dataset.json``.

    The json's ``labels`` give the classes (``metainfo['classes']``, the
    background first) and its lists the pairs (see
    :mod:`~cakes_mm.datasets.volumetric.decathlon_json`). Which pairs:

    * ``fold=None``: ``split`` names a list (``'train'``: ``training``,
      ``'val'``: ``validation``, ``'test'``: ``test``);
    * ``fold=f``: the ``training`` list is cut into ``num_folds`` folds
      (each entry's ``fold`` key, else contiguous blocks of the cases
      sorted by image path); ``'val'`` is fold ``f``, ``'train'`` the rest.

    ``pipeline`` is a list of MONAI dictionary transforms (config dicts
    whose ``type`` names a ``monai.transforms`` class, see
    :mod:`~cakes_mm.datasets.volumetric.monai_pipeline`) over the keys
    ``image`` and ``label``, which start as the two file paths. It must
    contain ``LoadImaged`` for both keys, and must end with a channel-first
    image ``[C, D, H, W]`` and label ``[1, D, H, W]`` on the same grid. Its
    random transforms are seeded per sample from numpy's global generator,
    so mmengine's seed and ``RandomStateHook`` govern them.

    Each item is ``dict(inputs=FloatTensor [C, D, H, W],
    data_samples=VolumeSegDataSample)`` with ``gt_seg`` (LongTensor
    ``[1, D, H, W]``) and the metainfo listed in
    :class:`~cakes_mm.structures.VolumeSegDataSample`. The spatial axes are
    the NIfTI voxel axes (i, j, k) after the pipeline, as MONAI keeps them.

    Bad input raises :class:`BadInputError` naming the file: a malformed
    ``dataset.json`` (the file and entry), a missing or unreadable NIfTI,
    an image and label of different shapes or affines (beyond 1e-3 mm), a
    label value outside the declared labels (with ``instance_labels``: a
    negative or fractional one). With
    ``skip_bad_samples=True``, training skips such pairs instead (see
    :class:`SampleChecksMixin`).

    Args:
        ann_file (str): The ``dataset.json``, relative to ``data_root``.
            Defaults to ``'dataset.json'``.
        pipeline (Sequence[dict | Callable]): The MONAI transforms.
            Defaults to ().
        data_root (str): Folder of the json and of the listed paths; empty
            for paths relative to the json's folder. Defaults to ''.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to
            ``'train'``.
        fold (int, optional): The held-out fold, for cross-validation.
            Defaults to None.
        num_folds (int): How many folds. Defaults to 5.
        test_mode (bool): Validation or testing. Defaults to False.
        skip_bad_samples (bool): In training, skip unreadable pairs.
            Defaults to False.
        instance_labels (bool): The labels are instance ids (0 the
            background), as in EM neuron segmentation: any whole number
            >= 0, while the json's ``labels`` only name the classes.
            Defaults to False.
        **kwargs: More ``BaseDataset`` arguments (``indices``,
            ``serialize_data``, ``lazy_init``, ...).
    """

    def __init__(
        self,
        ann_file: str = 'dataset.json',
        pipeline: Sequence[Union[dict, Callable]] = (),
        data_root: str = '',
        split: str = 'train',
        fold: Optional[int] = None,
        num_folds: int = 5,
        test_mode: bool = False,
        skip_bad_samples: bool = False,
        instance_labels: bool = False,
        **kwargs,
    ) -> None:
        self.split = split
        self.instance_labels = instance_labels
        self.fold = fold
        self.num_folds = num_folds
        self.transforms = build_pipeline(pipeline)
        self.load_end = load_step_end(self.transforms)
        self.random = is_random(self.transforms)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            pipeline=[],
            test_mode=test_mode,
            skip_bad_samples=skip_bad_samples,
            **kwargs,
        )

    def load_data_list(self) -> List[dict]:
        """Read the split's pairs; set ``metainfo['classes']``."""
        index = load_decathlon_json(self.ann_file)
        self._metainfo['classes'] = tuple(class_names(index, self.ann_file))
        cases = select_cases(
            index,
            self.ann_file,
            self.split,
            self.fold,
            self.num_folds,
            self.data_root,
        )
        return [
            dict(image=case.image, label=case.label, ann_line=case.entry)
            for case in cases
        ]

    def check_sample(self, data_info: dict) -> None:
        """Check that both files exist, have readable headers and share
        one grid; keep the grid in ``data_info['grid']``."""
        where = data_info['ann_line']
        try:
            image = read_grid(data_info['image'])
            label = read_grid(data_info['label'])
        except BadSampleError as error:
            raise BadSampleError(f'{error} ({where})') from None
        check_same_grid(
            data_info['image'], image, data_info['label'], label, where
        )
        data_info['grid'] = image

    def run_pipeline(self, data_info: dict) -> dict:
        """Load the pair, check its label values and that its image is
        finite, transform and pack it.

        Args:
            data_info (dict): The sample's data info, checked.

        Returns:
            dict: ``inputs`` and ``data_samples``.
        """
        if self.random:
            reseed(self.transforms)
        data = dict(image=data_info['image'], label=data_info['label'])
        try:
            data = self.transforms(data, end=self.load_end)
        except Exception:
            failure = first_unreadable([data['image'], data['label']])
            if failure is None:
                raise
            raise BadSampleError(
                f'{failure}; LoadImaged failed on sample '
                f'{data_info["sample_idx"]} ({data_info["ann_line"]})'
            ) from None
        check_finite(
            data['image'].detach().cpu(),
            data_info['image'],
            data_info['ann_line'],
        )
        values = torch.unique(data['label']).tolist()
        if self.instance_labels:
            check_instance_ids(
                values, data_info['label'], data_info['ann_line']
            )
        else:
            check_label_values(
                values,
                len(self.metainfo['classes']),
                data_info['label'],
                data_info['ann_line'],
            )
        data = self.transforms(data, start=self.load_end)
        return pack_volume(data, data_info, data_info['grid'])
