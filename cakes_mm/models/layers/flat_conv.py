"""A 3D conv whose kernel is flat along an axis, run as a 2D conv over a
view of its input that costs no copy.

A sub-kernel such as ``kxkx1`` or ``1x1xk`` spans fewer than three axes, so
a 3D conv computes it with a 3D kernel that does no more than a 2D one. On
the CPU, oneDNN's 3D kernels are slow for some of these shapes, and at
batch 1 PyTorch picks its own unvectorised 3D conv for small inputs (when N,
C, T and H multiply to at most 20,480), which is slow for every 1D kernel.
The same output, exactly, comes from a 2D conv over a view:

* a kernel flat along T (``1xkxk``, ``1x1xk``, ``1xkx1``) on a
  ``channels_last_3d`` input: T joins the batch, (N·T, C, H, W);
* a kernel flat along W (``kxkx1``, ``kx1x1``): H and W merge into one axis
  of H·W, on which the kernel's H taps lie W apart (dilation W, padding W
  per tap), so they never cross a row;
* a kernel flat along H (``kx1xk``): T and H merge into one axis of T·H, on
  which the T taps lie H apart.

Each view is free in the layout it is used with, and in
``channels_last_3d`` each is a ``channels_last`` 2D tensor, so the 2D conv
goes through :func:`~cakes_mm.models.layers.fused_conv.conv2d_post_ops`:
one oneDNN call with the weight reordered in advance, and the ReLU that
follows a folded PmSCn conv applied in the same call. The dilated forms'
backward passes are slower than the 3D conv's, so in training only a kernel
flat along T runs as a 2D conv, over frames of at least
:data:`TRAIN_MIN_FRAME` pixels (:func:`trains_over_frames`); every other
2D form is used only where no gradient is recorded.

Where PyTorch would run a 3D conv on its own unvectorised kernel (one small
sample, or on one thread a kernel 1 wide along H and W), which is slow and
returns the default layout, :func:`conv3d_in_onednn` runs it through oneDNN
instead, in training too (:func:`takes_unvectorised_path` says where).
``docs/benchmarks.md`` gives what each step bought.
"""

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _triple

from .channels_last_norm import is_channels_last_cpu_float
from .fused_conv import ReorderedWeight, conv2d_post_ops

CL = torch.channels_last_3d

#: A 3D conv's spatial axes, (T, H, W), in their own order.
SPATIAL_AXES: Tuple[int, int, int] = (0, 1, 2)


def in_axis_order(x: torch.Tensor, axes: Tuple[int, int, int]) -> torch.Tensor:
    """A view of ``x`` (N, C, then three spatial axes, as an input or a
    conv weight) with its spatial axes taken in the order ``axes``.

    Args:
        x (torch.Tensor): A 5D tensor.
        axes (tuple[int, int, int]): Which of ``x``'s spatial axes comes
            first, second and third.

    Returns:
        torch.Tensor: The permuted view.
    """
    return x.permute(0, 1, *(2 + a for a in axes))


#: The smallest frame, in pixels (H·W), over which a kernel flat along T
#: trains as a 2D conv (:func:`trains_over_frames`).
TRAIN_MIN_FRAME = 1024

#: PyTorch runs a CPU conv of one sample on its own kernel when the sample's
#: N·C·T·H is at most this (and the kernel is not wider than 3 on H and W).
SMALL_SAMPLE = 20480


def takes_unvectorised_path(
    x: torch.Tensor, weight: torch.Tensor, stride, dilation, groups
) -> bool:
    """Whether PyTorch computes ``F.conv3d`` of a CPU float32
    ``channels_last_3d`` input ``x`` with its own unvectorised kernel
    instead of oneDNN's (:func:`conv3d_in_onednn` avoids it).

    PyTorch takes that kernel, ungrouped, in two cases (its own tests):

    * one sample whose N·C·T·H is at most :data:`SMALL_SAMPLE`, for any
      kernel not wider than 3 along both H and W: at batch 1, the deep
      layers of a 3D net, or every layer of a small one (the MRI demo's
      UNet at 32³, 5x slower there in inference);
    * on one thread, fewer than 16 samples, a kernel 1 wide along H and W
      (1x1 filters, and ``kx1x1`` too, as the test looks at the last two
      kernel axes only), unit stride and dilation.

    On a ``channels_last_3d`` input that kernel also copies the input to
    the default layout and returns its output in that layout
    (``docs/benchmarks.md`` has the measurements).

    Args:
        x (torch.Tensor): The conv's input.
        weight (torch.Tensor): (C_out, C_in, kT, kH, kW).
        stride, dilation (int | tuple[int, int, int]): The conv's.
        groups (int): The conv's groups.

    Returns:
        bool: True where :func:`conv3d_in_onednn` should run the conv.
    """
    if not _runs_channels_last(x, weight) or groups != 1:
        return False  # (False in traces and compiles too)
    if not torch.backends.mkldnn.is_available():
        return False  # PyTorch has no other kernel either
    n, c, t, h = x.shape[:4]
    kh, kw = weight.shape[3:]
    if n == 1 and n * c * t * h <= SMALL_SAMPLE and not (kh > 3 and kw > 3):
        return True
    return (
        n < 16
        and (kh, kw) == (1, 1)
        and _triple(stride) == (1, 1, 1)
        and _triple(dilation) == (1, 1, 1)
        and torch.get_num_threads() == 1
    )


def trains_over_frames(
    x: torch.Tensor, weight: torch.Tensor, stride, groups
) -> bool:
    """Whether a conv that records gradients runs as a 2D conv over the
    frames of ``x`` (:func:`flat_conv3d`, T joined to the batch).

    oneDNN's 2D conv was 3-13% faster than its 3D conv of a ``1xkxk``
    kernel, forward and backward, over frames of 32² pixels and more
    (P2SC2's stage-1 stream convs, 64→72 and 72→72 over 2×64×32², 144 → 138
    and 173 → 157 ms), and as fast or slower over smaller ones (1.15× at
    288 channels over 16×8², 1.29× at 576 over 8×4²); ``docs/benchmarks.md``
    has the measurements. So: a kernel 1 along T, unit stride, no groups,
    frames of at least :data:`TRAIN_MIN_FRAME` pixels, a CPU float32
    ``channels_last_3d`` input, outside traces and compiles.

    Args:
        x (torch.Tensor): The conv's input, (N, C_in, T, H, W).
        weight (torch.Tensor): (C_out, C_in, kT, kH, kW).
        stride (tuple[int, int, int]): The conv's stride.
        groups (int): The conv's groups.

    Returns:
        bool: True where the 2D conv should run.
    """
    return (
        torch.is_grad_enabled()
        and weight.shape[2] == 1
        and tuple(stride) == (1, 1, 1)
        and groups == 1
        and is_channels_last_cpu_float(x)
        and x.shape[3] * x.shape[4] >= TRAIN_MIN_FRAME
    )


def _runs_channels_last(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether a conv of ``x`` with ``weight`` runs in ``channels_last_3d``
    on the CPU in float32, outside traces and compiles: ``x`` is in that
    layout, or has one channel (so it is in both) and the weight's strides
    are that layout's, which a conv then follows."""
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return False  # (before any test of a shape, which a trace records)
    if is_channels_last_cpu_float(x):
        return True
    return (
        x.dim() == 5
        and x.shape[1] == 1
        and weight.stride(1) == 1
        and x.device.type == 'cpu'
        and x.dtype == torch.float32
        and x.is_contiguous(memory_format=CL)
        and weight.is_contiguous(memory_format=CL)
    )


def conv3d_in_onednn(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    stride,
    padding,
    dilation,
) -> torch.Tensor:
    """``F.conv3d`` (ungrouped, zero padding given as numbers) where
    :func:`takes_unvectorised_path` holds, through oneDNN: a kernel flat
    along H and W with unit stride as a 2D conv over the (N, C, T, H·W)
    view (:func:`flat_conv3d`; on one thread it is faster than oneDNN's 3D
    conv), any other by calling oneDNN's 3D conv directly. Both keep
    ``channels_last_3d`` and record gradients.

    Args:
        x (torch.Tensor): (N, C_in, T, H, W).
        weight (torch.Tensor): (C_out, C_in, kT, kH, kW).
        bias (torch.Tensor, optional): (C_out,) or None.
        stride, padding, dilation (int | tuple[int, int, int]): The
            conv's.

    Returns:
        torch.Tensor: The conv's output.
    """
    stride, padding, dilation = map(_triple, (stride, padding, dilation))
    if x.shape[0] > 1 and weight.shape[3:] == (1, 1) and stride == (1, 1, 1):
        y = flat_conv3d(x, weight, bias, padding, dilation)
        if y is not None:
            return y
    return torch.mkldnn_convolution(
        x, weight, bias, padding, stride, dilation, 1
    )


def flat_conv3d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    padding,
    dilation,
    relu: bool = False,
    reordered: Optional[ReorderedWeight] = None,
) -> Optional[torch.Tensor]:
    """A stride-1, zero-padded, ungrouped 3D conv as a 2D conv over a free
    view, or None where no view fits (see the module docstring).

    Args:
        x (torch.Tensor): (N, C_in, T, H, W).
        weight (torch.Tensor): (C_out, C_in, kT, kH, kW).
        bias (torch.Tensor, optional): (C_out,) or None.
        padding (tuple[int, int, int]): Zero padding along (T, H, W).
        dilation (tuple[int, int, int]): Dilation along (T, H, W).
        relu (bool): Whether to apply ReLU to the output (in the conv's
            own oneDNN call where :func:`conv2d_post_ops` can). Defaults to
            False.
        reordered (ReorderedWeight, optional): Where to keep the 2D weight
            in oneDNN's layout between calls. Defaults to None.

    Returns:
        torch.Tensor | None: (N, C_out, T, H, W) in ``x``'s layout, equal
        to ``F.conv3d(x, weight, bias, 1, padding, dilation)`` (then ReLU if
        ``relu``), or None.
    """
    y = _flat_conv(x, weight, bias, padding, dilation, relu, reordered)
    return None if y is None else _dense_strides(y, x)


def _flat_conv(
    x, weight, bias, padding, dilation, relu, reordered
) -> Optional[torch.Tensor]:
    """:func:`flat_conv3d`'s 2D conv, its output's strides as the view
    leaves them."""
    n, c, t, h, w = x.shape
    kt, kh, kw = weight.shape[2:]
    pt, ph, pw = padding
    dt, dh, dw = dilation

    def conv2d(view, weight2d, padding2d, dilation2d):
        return conv2d_post_ops(
            view,
            weight2d,
            bias,
            padding2d,
            dilation=dilation2d,
            relu=relu,
            reordered=reordered,
        )

    # The output's sizes come from the 2D conv's: a padding need not keep
    # the size, except along the flat axis, where the view has no room for
    # the padded rows.
    if kt == 1 and pt == 0 and x.is_contiguous(memory_format=CL):
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        y = conv2d(frames, weight[:, :, 0], (ph, pw), (dh, dw))
        return y.view(n, t, -1, *y.shape[2:]).transpose(1, 2)
    if kw == 1 and pw == 0:
        rows = x.reshape(n, c, t, h * w)
        y = conv2d(rows, weight[..., 0], (pt, w * ph), (dt, w * dh))
        return y.view(n, -1, y.shape[2], y.shape[3] // w, w)
    if kh == 1 and ph == 0:
        planes = x.reshape(n, c, t * h, w)
        y = conv2d(planes, weight[:, :, :, 0], (h * pt, pw), (h * dt, dw))
        return y.view(n, -1, y.shape[2] // h, h, y.shape[3])
    return None


def _dense_strides(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``y`` with the strides a dense tensor in ``x``'s layout has.

    A 2D conv's output may carry any stride along a size-1 axis (batch 1),
    and a view keeps it; ``torch.cat`` of tensors whose strides then differ
    falls back to the default layout. Only size-1 axes' strides change, so
    the result is a view of the same memory. An output in another layout
    is returned as it is.
    """
    n, c, t, h, w = y.shape
    if x.is_contiguous(memory_format=CL):
        layout = CL
        strides = (c * t * h * w, 1, h * w * c, w * c, c)
    else:
        layout = torch.contiguous_format
        strides = (c * t * h * w, t * h * w, h * w, w, 1)
    if not y.is_contiguous(memory_format=layout) or y.stride() == strides:
        return y  # another layout (the weight's, say), or dense already
    return y.as_strided(y.shape, strides)


class FlatConv3d(nn.Conv3d):
    """An ``nn.Conv3d`` (same parameters, same state dict) that, when no
    gradient is recorded, runs a kernel flat along an axis as a 2D conv over
    a free view of its input (:func:`flat_conv3d`), its 2D weight kept in
    oneDNN's layout between calls; in training it does so for a kernel flat
    along T over large frames (:func:`trains_over_frames`). Where PyTorch
    would run it on its unvectorised kernel, it runs through oneDNN
    (:func:`conv3d_in_onednn`), in training too. Every other case, and a
    trace (an ONNX export keeps its 3D conv node), is ``nn.Conv3d``'s own
    forward. It can also apply ReLU to its output, which the 2D form does in
    the conv's own call, and take an input whose spatial axes are its
    kernel's in another order (``axes``), as PmSCn's streams may give it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reordered = ReorderedWeight()

    def forward(
        self,
        x: torch.Tensor,
        relu: bool = False,
        axes: Tuple[int, int, int] = SPATIAL_AXES,
    ) -> torch.Tensor:
        """``nn.Conv3d.forward``, through the 2D view where it applies.

        Args:
            x (torch.Tensor): (N, C_in, T, H, W), or with ``axes`` its
                spatial axes in that order.
            relu (bool): Whether to apply ReLU to the output. Defaults to
                False.
            axes (tuple[int, int, int]): Which of the kernel's axes (0: T,
                1: H, 2: W) each spatial axis of ``x`` is, in ``x``'s order;
                the output's follow the same order. Defaults to (0, 1, 2).

        Returns:
            torch.Tensor: The conv's output (after ReLU if ``relu``).
        """
        weight, stride, padding, dilation = self._in_axes(axes)
        numeric_zero_padding = self.padding_mode == 'zeros' and not isinstance(
            padding, str
        )
        inferring = (
            not torch.is_grad_enabled()
            and not torch.jit.is_tracing()  # ONNX keeps the 3D conv
            and stride == (1, 1, 1)
            and self.groups == 1
        )
        if (
            numeric_zero_padding
            and x.dim() == 5
            and (
                inferring or trains_over_frames(x, weight, stride, self.groups)
            )
        ):
            y = flat_conv3d(
                x, weight, self.bias, padding, dilation, relu, self.reordered
            )
            if y is not None:
                return y
        if numeric_zero_padding and takes_unvectorised_path(
            x, weight, stride, dilation, self.groups
        ):
            y = conv3d_in_onednn(
                x, weight, self.bias, stride, padding, dilation
            )
        elif axes == SPATIAL_AXES:
            y = super().forward(x)
        else:
            y = F.conv3d(
                x, weight, self.bias, stride, padding, dilation, self.groups
            )
        return y.relu_() if relu else y

    def _in_axes(self, axes: Tuple[int, int, int]) -> tuple:
        """The weight, stride, padding and dilation for an input whose
        spatial axes are the kernel's in the order ``axes``: permuted alike
        (zero padding given as numbers only, where the order changes)."""
        if axes == SPATIAL_AXES:
            return self.weight, self.stride, self.padding, self.dilation
        if self.padding_mode != 'zeros' or isinstance(self.padding, str):
            raise ValueError(
                f'FlatConv3d: axes={axes} takes zero padding given as '
                f'numbers, got padding={self.padding!r}, '
                f'padding_mode={self.padding_mode!r}'
            )
        stride, padding, dilation = (
            tuple(v[a] for a in axes)
            for v in (self.stride, self.padding, self.dilation)
        )
        weight = in_axis_order(self.weight, axes)
        return weight, stride, padding, dilation
