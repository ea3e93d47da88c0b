"""Whole-volume inference by MONAI's sliding window, set as the papers
state it: a window size and a stride."""

from typing import Callable, Optional, Sequence, Tuple, Union

import torch

IntOr3 = Union[int, Sequence[int]]


def _three(value: IntOr3, name: str) -> Tuple[int, int, int]:
    """``value`` for each of the three axes, checked positive."""
    values = (value,) * 3 if isinstance(value, int) else tuple(value)
    if len(values) != 3 or not all(
        isinstance(v, int) and v > 0 for v in values
    ):
        raise ValueError(
            f'test_cfg.{name} must be a positive int or three '
            f'of them, got {value!r}'
        )
    return values


def stride_to_overlap(
    roi_size: IntOr3, stride: IntOr3
) -> Tuple[float, float, float]:
    """MONAI's ``overlap`` fractions that move the window by ``stride``.

    MONAI moves the window by ``int(roi * (1 - overlap))`` voxels. The
    overlap ``(roi - stride - 0.5) / roi`` makes that product half a voxel
    more than ``stride``, so rounding in floating point cannot take it
    below; a stride of the window's size gives overlap 0.

    Args:
        roi_size (int | Sequence[int]): The window, per axis.
        stride (int | Sequence[int]): The step, per axis; at most the
            window, or voxels would be skipped.

    Returns:
        tuple[float, float, float]: The overlap per axis.
    """
    rois, strides = _three(roi_size, 'roi_size'), _three(stride, 'stride')
    if any(step > roi for step, roi in zip(strides, rois)):
        raise ValueError(
            f'test_cfg.stride {strides} exceeds roi_size '
            f'{rois}: the windows would leave gaps'
        )
    return tuple(
        0.0 if step == roi else (roi - step - 0.5) / roi
        for step, roi in zip(strides, rois)
    )


class SlidingWindow:
    """Predict a whole volume window by window (MONAI's
    ``sliding_window_inference``), or in one pass without a window.

    Args:
        roi_size (int | Sequence[int], optional): The window; None runs
            the network once on the whole volume. Defaults to None.
        sw_batch_size (int): Windows per network call. Defaults to 1.
        overlap (float | Sequence[float], optional): MONAI's overlap of
            neighbouring windows, a fraction in [0, 1). Defaults to None:
            0.25 unless ``stride`` is given.
        stride (int | Sequence[int], optional): The step between windows,
            in voxels, instead of ``overlap`` (see
            :func:`stride_to_overlap`). Defaults to None.
        mode (str): How overlapping windows blend: ``'constant'`` (the
            mean) or ``'gaussian'``. Defaults to ``'constant'``.
        padding_mode (str): How a volume smaller than the window is padded.
            Defaults to ``'constant'`` (zeros).
        sigma_scale (float): The Gaussian's width, as a fraction of the
            window, in ``'gaussian'`` mode. Defaults to 0.125.
    """

    def __init__(
        self,
        roi_size: Optional[IntOr3] = None,
        sw_batch_size: int = 1,
        overlap: Optional[Union[float, Sequence[float]]] = None,
        stride: Optional[IntOr3] = None,
        mode: str = 'constant',
        padding_mode: str = 'constant',
        sigma_scale: float = 0.125,
    ) -> None:
        if overlap is not None and stride is not None:
            raise ValueError('test_cfg: give overlap or stride, not both')
        if roi_size is None and (overlap is not None or stride is not None):
            raise ValueError('test_cfg: overlap and stride need roi_size')
        if sw_batch_size < 1:
            raise ValueError(
                f'test_cfg.sw_batch_size must be >= 1, got {sw_batch_size}'
            )
        self.roi_size = (
            None if roi_size is None else _three(roi_size, 'roi_size')
        )
        self.overlap = (
            stride_to_overlap(self.roi_size, stride)
            if stride is not None
            else 0.25
            if overlap is None
            else overlap
        )
        self.sw_batch_size = sw_batch_size
        self.mode = mode
        self.padding_mode = padding_mode
        self.sigma_scale = sigma_scale

    def __call__(
        self,
        predictor: Callable[[torch.Tensor], torch.Tensor],
        volume: torch.Tensor,
    ) -> torch.Tensor:
        """The predictor's output over the whole of ``volume``.

        Args:
            predictor (Callable): Maps ``[N, C, d, h, w]`` windows to
                ``[N, K, d, h, w]`` outputs.
            volume (torch.Tensor): One volume, ``[1, C, D, H, W]``.

        Returns:
            torch.Tensor: ``[1, K, D, H, W]``.
        """
        if self.roi_size is None:
            return predictor(volume)
        # MONAI is the optional "volumetric" extra: imported when used.
        from monai.inferers import sliding_window_inference

        return sliding_window_inference(
            volume,
            self.roi_size,
            self.sw_batch_size,
            predictor,
            overlap=self.overlap,
            mode=self.mode,
            sigma_scale=self.sigma_scale,
            padding_mode=self.padding_mode,
        )
