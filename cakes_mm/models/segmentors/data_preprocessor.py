"""Batches of volumes for the segmentors: stacked and on the device."""

from typing import List, Sequence, Union

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseDataPreprocessor


def stack_volumes(volumes: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack equal-size volumes ``[C, D, H, W]`` into ``[N, C, D, H, W]``.

    Args:
        volumes (Sequence[torch.Tensor]): The batch's volumes.

    Returns:
        torch.Tensor: The batch.
    """
    shapes = [tuple(volume.shape) for volume in volumes]
    if any(len(shape) != 4 for shape in shapes):
        raise ValueError(
            f'VolumeSegDataPreprocessor: inputs must be '
            f'volumes [C, D, H, W], got shapes {shapes}'
        )
    if len(set(shapes)) > 1:
        raise ValueError(
            f'VolumeSegDataPreprocessor: the batch holds volumes of '
            f'different shapes {sorted(set(shapes))}; crop training '
            f'volumes to one size, and give whole volumes with '
            f'batch_size=1'
        )
    return torch.stack(list(volumes))


def channels_last_3d(inputs: torch.Tensor) -> torch.Tensor:
    """``inputs`` ``[N, C, D, H, W]`` with ``channels_last_3d`` strides.

    One channel lies alike in both layouts, but a conv reads the layout
    from the strides: such a batch gets those of ``channels_last_3d`` too.

    Args:
        inputs (torch.Tensor): A batch.

    Returns:
        torch.Tensor: The same values, laid out NDHWC.
    """
    inputs = inputs.contiguous(memory_format=torch.channels_last_3d)
    if inputs.shape[1] == 1:
        _, _, d, h, w = inputs.shape
        inputs = inputs.as_strided(inputs.shape, (d * h * w, 1, h * w, w, 1))
    return inputs


@MODELS.register_module()
class VolumeSegDataPreprocessor(BaseDataPreprocessor):
    """Move a batch to the model's device and stack its volumes.

    ``MSDDataset`` items collated by ``pseudo_collate`` arrive as
    ``dict(inputs=[FloatTensor [C, D, H, W], ...], data_samples=[...])``.
    The volumes are stacked into ``[N, C, D, H, W]``, which needs one size:
    training crops share it, while whole validation or test volumes differ
    and come one per batch. Intensities are left as the dataset's pipeline
    made them (MONAI's ``ScaleIntensityRanged`` and the like).

    With ``channels_last=True`` the batch is laid out ``channels_last_3d``
    (NDHWC): the same values, in a memory layout in which the CPU's 3D
    convolutions (oneDNN) often run faster; the segmentors then lay out
    sliding windows the same way (:meth:`lay_out`) and their network's
    weights too. Whether it pays depends on the network: measured on the
    CPU (``benchmarks/volumetric.py``; numbers in
    ``benchmarks/results/volumetric_cpu.md``), it speeds up the MRI demo's
    batch-normed UNet and slows down networks with instance norms (C2FNAS,
    MONAI's BasicUNet), whose norm has no fast channels-last kernel.

    Args:
        channels_last (bool): Lay batches out ``channels_last_3d``.
            Defaults to False.
        non_blocking (bool): Copy to the device asynchronously. Defaults to
            False.
    """

    def __init__(
        self, channels_last: bool = False, non_blocking: bool = False
    ) -> None:
        super().__init__(non_blocking)
        self.channels_last = channels_last

    def lay_out(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs`` ``[N, C, D, H, W]`` in the chosen memory layout.

        Args:
            inputs (torch.Tensor): A batch.

        Returns:
            torch.Tensor: The same values, ``channels_last_3d`` if chosen.
        """
        return channels_last_3d(inputs) if self.channels_last else inputs

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack and move one batch.

        Args:
            data (dict): ``inputs`` (a list of volumes or a stacked tensor)
                and optionally ``data_samples``.
            training (bool): Unused; batches are handled alike in every
                mode. Defaults to False.

        Returns:
            dict: ``inputs`` (``[N, C, D, H, W]``) and ``data_samples``.
        """
        data = self.cast_data(data)
        inputs: Union[torch.Tensor, List[torch.Tensor]] = data['inputs']
        if not isinstance(inputs, torch.Tensor):
            inputs = stack_volumes(inputs)
        return dict(
            inputs=self.lay_out(inputs), data_samples=data.get('data_samples')
        )
