"""Turn a MONAI pipeline's output into what an mmengine model consumes."""

from typing import List, Union

import numpy as np
import torch

from cakes_mm.structures import VolumeSegDataSample

from .nifti_checks import VolumeGrid


def plain_tensor(value: object) -> torch.Tensor:
    """``value`` as a plain tensor (a ``MetaTensor`` loses its metadata).

    Args:
        value (object): A tensor, MetaTensor or array.

    Returns:
        torch.Tensor: A contiguous tensor.
    """
    from monai.data import MetaTensor

    if isinstance(value, MetaTensor):
        value = value.as_tensor()
    return torch.as_tensor(value).contiguous()


def single_sample(data: Union[dict, List[dict]], where: str) -> dict:
    """The one sample a pipeline made; refuse several.

    Args:
        data (dict | list[dict]): The pipeline's output; croppers such as
            ``RandCropByPosNegLabeld`` return a list.
        where (str): The sample, for the error message.

    Returns:
        dict: The sample.
    """
    if isinstance(data, dict):
        return data
    if len(data) != 1:
        raise ValueError(
            f'{where}: the pipeline made {len(data)} samples from one '
            'volume; the dataset yields one per volume, so set '
            'num_samples=1 and raise the batch size instead'
        )
    return data[0]


def pack_volume(
    data: Union[dict, List[dict]], data_info: dict, grid: VolumeGrid
) -> dict:
    """Pack a transformed image/label pair for the model.

    Args:
        data (dict | list[dict]): The pipeline's output, with ``image``
            (``[C, D, H, W]``) and ``label`` (``[1, D, H, W]``).
        data_info (dict): The sample's data info (``image``, ``label``,
            ``sample_idx``, ``ann_line``).
        grid (VolumeGrid): The files' voxel grid.

    Returns:
        dict: ``inputs`` (FloatTensor ``[C, D, H, W]``) and
        ``data_samples`` (:class:`VolumeSegDataSample` with ``gt_seg``).
    """
    from monai.data import MetaTensor

    where = f'{data_info["image"]} ({data_info["ann_line"]})'
    data = single_sample(data, where)
    image, label = data['image'], data['label']
    inputs = plain_tensor(image).float()
    gt_seg = plain_tensor(label)
    if inputs.dim() != 4 or tuple(gt_seg.shape) != (1, *inputs.shape[1:]):
        raise ValueError(
            f'{where}: the pipeline gave image {list(inputs.shape)} and '
            f'label {list(gt_seg.shape)}; it must give [C, D, H, W] and '
            '[1, D, H, W] (add EnsureChannelFirstd)'
        )
    if gt_seg.is_floating_point() and not torch.equal(gt_seg, gt_seg.round()):
        raise ValueError(
            f'{where}: the pipeline made fractional label '
            "values; resample labels with mode='nearest'"
        )
    affine = image.affine if isinstance(image, MetaTensor) else grid.affine
    sample = VolumeSegDataSample(
        metainfo=dict(
            image_path=data_info['image'],
            label_path=data_info['label'],
            sample_idx=data_info['sample_idx'],
            ann_entry=data_info['ann_line'],
            original_shape=grid.shape,
            original_spacing=grid.spacing,
            original_affine=grid.affine,
            affine=np.asarray(affine, dtype=np.float64),
            shape=tuple(inputs.shape[1:]),
        )
    )
    sample.set_gt_seg(gt_seg.long())
    return dict(inputs=inputs, data_samples=sample)
