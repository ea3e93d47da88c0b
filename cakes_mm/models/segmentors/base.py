"""What every volumetric segmentor shares: a network in MONAI's
convention, the batch handling, the architecture loss and whole-volume
inference."""

from abc import abstractmethod
from typing import Dict, List, Optional, Union

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModel

from cakes_mm.structures import VolumeSegDataSample

from ..convert import build_network
from .sliding_window import SlidingWindow

#: The architecture loss by default: the cost-priority lasso, which adds
#: ``loss_alpha`` in a cost-priority search and nothing otherwise.
DEFAULT_ARCH_LOSS = dict(type='CostLasso')
#: The batch handling by default.
DEFAULT_PREPROCESSOR = dict(type='VolumeSegDataPreprocessor')

SampleList = List[VolumeSegDataSample]


class BaseVolumeSegmentor(BaseModel):
    """A 3D network trained on crops and run on whole volumes.

    The network follows MONAI's convention: ``network(x)`` maps
    ``[N, C, D, H, W]`` to ``[N, K, D, H, W]`` outputs (any registered
    model, a config whose ``type`` is a dotted import path such as
    ``'monai.networks.nets.BasicUNet'``, or a CAKES/PmSCn conversion of
    one). Subclasses say what the outputs mean: :meth:`seg_losses` compares
    them with the ground truth, :meth:`decode` turns them into a label map.

    ``forward`` has mmengine's three modes:

    * ``'loss'``: the subclass's losses on the training crops, plus the
      architecture loss's terms (``loss_alpha`` in a cost-priority search);
    * ``'predict'``: each volume is predicted whole, window by window
      (``test_cfg``), decoded, and set as ``pred_seg`` (LongTensor
      ``[1, D, H, W]``) on its :class:`VolumeSegDataSample`;
    * ``'tensor'``: the network's raw outputs.

    Args:
        network (dict | nn.Module): The network.
        test_cfg (dict, optional): The sliding window, the arguments of
            :class:`SlidingWindow` (``roi_size``, ``sw_batch_size``,
            ``overlap`` or ``stride``, ``mode``, ...). Defaults to None:
            one pass over the whole volume.
        arch_loss (dict, optional): A loss module called with the whole
            model, whose terms join the losses; None adds none. Defaults to
            ``dict(type='CostLasso')``.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='VolumeSegDataPreprocessor')``.
        init_cfg (dict, optional): mmengine's initialisation config.
            Defaults to None.
    """

    #: The inputs' three spatial axes, as reports name them (the search
    #: hook counts the chosen ops that span each).
    axis_names = ('D', 'H', 'W')

    def __init__(
        self,
        network: Union[dict, torch.nn.Module],
        test_cfg: Optional[dict] = None,
        arch_loss: Optional[dict] = DEFAULT_ARCH_LOSS,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(
            data_preprocessor=MODELS.build(
                data_preprocessor or DEFAULT_PREPROCESSOR
            ),
            init_cfg=init_cfg,
        )
        self.network = build_network(network)
        if getattr(self.data_preprocessor, 'channels_last', False):
            # Weights channels_last_3d too: a conv runs channels-last when
            # its input or its weight is, so even a one-channel input
            # (whose layout is ambiguous) starts the network in it.
            self.network.to(memory_format=torch.channels_last_3d)
        self.sliding_window = SlidingWindow(**(test_cfg or {}))
        self.arch_loss = None if arch_loss is None else MODELS.build(arch_loss)

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[SampleList] = None,
        mode: str = 'tensor',
    ) -> Union[Dict[str, torch.Tensor], SampleList, torch.Tensor]:
        """Losses, predictions or raw outputs (see the class doc).

        Args:
            inputs (torch.Tensor): ``[N, C, D, H, W]``.
            data_samples (list[VolumeSegDataSample], optional): With
                ``gt_seg`` for ``'loss'``. Defaults to None.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
                Defaults to ``'tensor'``.

        Returns:
            dict | list | torch.Tensor: As the mode says.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.network(inputs)
        raise ValueError(
            f"{type(self).__name__}: mode must be 'loss', "
            f"'predict' or 'tensor', got {mode!r}"
        )

    def loss(
        self, inputs: torch.Tensor, data_samples: Optional[SampleList]
    ) -> Dict[str, torch.Tensor]:
        """The segmentation losses and the architecture loss's terms.

        Args:
            inputs (torch.Tensor): Crops ``[N, C, D, H, W]``.
            data_samples (list[VolumeSegDataSample]): Their ``gt_seg``.

        Returns:
            dict[str, torch.Tensor]: The loss terms.
        """
        if not data_samples:
            raise ValueError(
                f"{type(self).__name__}: mode='loss' needs "
                f'data samples with gt_seg'
            )
        targets = torch.stack([sample.gt_seg for sample in data_samples])
        losses = self.seg_losses(self.network(inputs), targets)
        if self.arch_loss is not None:
            losses.update(self.arch_loss(self))
        return losses

    @torch.no_grad()
    def predict(
        self, inputs: torch.Tensor, data_samples: Optional[SampleList] = None
    ) -> SampleList:
        """Predict each volume whole and set its ``pred_seg`` (without
        gradients).

        Args:
            inputs (torch.Tensor): Volumes ``[N, C, D, H, W]``.
            data_samples (list[VolumeSegDataSample], optional): One per
                volume; made empty when None. Defaults to None.

        Returns:
            list[VolumeSegDataSample]: The samples, with ``pred_seg``.
        """
        if data_samples is None:
            data_samples = [VolumeSegDataSample() for _ in inputs]
        for volume, sample in zip(inputs, data_samples):
            outputs = self.sliding_window(self.run_window, volume[None])
            sample.set_pred_seg(self.decode(outputs))
        return data_samples

    def run_window(self, windows: torch.Tensor) -> torch.Tensor:
        """The network's outputs on a batch of sliding windows, laid out as
        the data preprocessor lays out training batches.

        Args:
            windows (torch.Tensor): ``[N, C, D, H, W]``.

        Returns:
            torch.Tensor: ``[N, K, D, H, W]``.
        """
        lay_out = getattr(self.data_preprocessor, 'lay_out', None)
        return self.network(windows if lay_out is None else lay_out(windows))

    @abstractmethod
    def seg_losses(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> Dict[str, torch.Tensor]:
        """The losses of the network's outputs.

        Args:
            outputs (torch.Tensor): ``[N, K, D, H, W]``.
            targets (torch.Tensor): The ground truth, LongTensor
                ``[N, 1, D, H, W]``.

        Returns:
            dict[str, torch.Tensor]: Loss terms (keys containing ``loss``).
        """

    @abstractmethod
    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """The label map of one volume's outputs.

        Args:
            outputs (torch.Tensor): ``[1, K, D, H, W]``.

        Returns:
            torch.Tensor: LongTensor ``[1, D, H, W]``.
        """
