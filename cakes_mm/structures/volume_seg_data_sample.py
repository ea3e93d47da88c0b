"""The data sample of one volume in 3D segmentation."""

import torch
from mmengine.structures import BaseDataElement


def _check_seg(value: torch.Tensor, name: str) -> torch.Tensor:
    """Return ``value`` if it is a LongTensor of shape ``[1, D, H, W]``.

    Args:
        value (torch.Tensor): A label map.
        name (str): The field's name, for the error message.

    Returns:
        torch.Tensor: ``value``.
    """
    if not isinstance(value, torch.Tensor) or value.dtype != torch.long:
        raise TypeError(
            f'{name} must be a LongTensor, got '
            f'{getattr(value, "dtype", type(value).__name__)}'
        )
    if value.dim() != 4 or value.shape[0] != 1:
        raise ValueError(
            f'{name} must have shape [1, D, H, W], got {list(value.shape)}'
        )
    return value


class VolumeSegDataSample(BaseDataElement):
    """One volume's segmentation: its ground truth and its prediction.

    Data fields (both LongTensor ``[1, D, H, W]``, one class index per
    voxel, on the grid of the model's input):

    * ``gt_seg``: the ground-truth label map, set by the dataset;
    * ``pred_seg``: the predicted label map, set by the model in ``predict``
      mode and read by ``VolumeDiceMetric``.

    Metainfo written by ``MSDDataset``:

    * ``image_path``, ``label_path`` (str): the NIfTI files;
    * ``original_shape`` (tuple[int, int, int]) and ``original_spacing``
      (tuple[float, float, float], mm): the files' voxel grid;
    * ``original_affine`` (np.ndarray, 4x4): the files' voxel-to-world
      matrix;
    * ``affine`` (np.ndarray, 4x4) and ``shape`` (tuple[int, int, int]):
      the grid of ``inputs`` after the pipeline (resampled, reoriented or
      cropped), as MONAI tracked it;
    * ``sample_idx`` (int) and ``ann_entry`` (str, e.g.
      ``'dataset.json: training[3]'``).

    Example:
        >>> sample = VolumeSegDataSample(metainfo=dict(image_path='a.nii'))
        >>> sample.set_gt_seg(torch.zeros(1, 4, 4, 4, dtype=torch.long))
        >>> sample.gt_seg.shape
        torch.Size([1, 4, 4, 4])
    """

    def set_gt_seg(self, value: torch.Tensor) -> 'VolumeSegDataSample':
        """Set ``gt_seg`` (LongTensor ``[1, D, H, W]``)."""
        self.set_field(
            _check_seg(value, 'gt_seg'), 'gt_seg', dtype=torch.Tensor
        )
        return self

    def set_pred_seg(self, value: torch.Tensor) -> 'VolumeSegDataSample':
        """Set ``pred_seg`` (LongTensor ``[1, D, H, W]``)."""
        self.set_field(
            _check_seg(value, 'pred_seg'), 'pred_seg', dtype=torch.Tensor
        )
        return self
