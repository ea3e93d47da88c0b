"""The PmSCn unit: parallel separable 3D convolution (Gonda et al.,
"Parallel Separable 3D Convolution for Video and Volumetric Data
Understanding", BMVC 2018).

A PmSCn unit stands for one or more consecutive 3D convs. It has ``m``
parallel streams; each stream is ``n`` 2D convs, every one followed by
BN → ReLU, then one 1D conv along the axis the 2D convs lack. The streams are
concatenated on channels. The unit knows nothing of ResNet: it can replace
the 3D convs of a DenseNet or a UNet as well.

Our reading of what the paper leaves open:

* **Orientations**, as (T, H, W) sub-kernel names: stream 1 is ``1xkxk`` then
  ``kx1x1`` (with m = 1 the unit is R(2+1)D), stream 2 ``kxkx1`` then
  ``1x1xk``, stream 3 ``kx1xk`` then ``1xkx1``.
* **Output width.** Each stream gives C_out / m channels, the first stream
  takes the remainder.
* **Stride.** The unit's stride goes on the first conv of every stream, on
  all three axes (an axis the kernel lacks is then subsampled, as a 1x1x1
  strided shortcut does).
* **Intermediate width.** Eq. 5 of the paper gives, for each replaced 3D conv
  with k_{i-1} input and k_i output channels and a d x d x d kernel,
  M = ⌊k_i·k_{i-1}·d³ / (k_{i-1}·d² + k_i·d)⌋, the width at which one 2D conv
  and one 1D conv have the 3D conv's parameters. The replaced chain is
  C_in → C_out, then C_out → C_out. Each stream gets ⌊M/m⌋ (at least 1).
  With n 2D convs standing for r ≤ n replaced convs, 2D conv j stands for
  replaced conv ⌊j·r/n⌋ and the r·M filters are spread over the n convs:
  its width is ⌊M·r/(n·m)⌋. For n = r (the usual case) that is ⌊M/m⌋ per
  stream, exactly; for n > r (P2SC3 on a ResNet basic block's pair) extra 2D
  convs refine the factorisation without growing the model, as in the
  paper's Fig. 5, where P2SC3 is smaller than P2SC2.

The unit is meant to be followed by a norm layer, so by default no conv
has a bias; with ``bias=True`` (a converted conv that had one) each stream's
1D conv has one.

**Deploy form** (:meth:`PmSCn.switch_to_deploy`,
:func:`switch_pmscn_to_deploy` for a whole network): each batch norm inside
a stream is folded into the 2D conv before it, which gains a bias, and the
norm becomes an identity; the unit then computes what it computed in eval
mode with one pass fewer over memory per 2D conv. Norms that use the batch's
own statistics (instance or group norms) cannot fold and stay. A batch norm
that follows the unit folds too, into the streams' 1D convs, each taking the
slice of it that its filters give (:meth:`PmSCn.absorb_norm`); the network
that owns that norm drops it (``PmSCnResNet`` does so in its deploy form).
"""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.utils import _triple

from .channels_last_norm import (
    is_channels_last_cpu_float,
    running_scale_shift,
)
from .flat_conv import SPATIAL_AXES, FlatConv3d, in_axis_order
from .fused_concat import concat_add_relu
from .fused_norm_relu import norm_relu
from .sub_kernels import IntOr3, make_sub_kernel_conv, uniform_split

#: The narrowest 2D conv with which a stream is run with its axes reordered
#: in training, and the largest frame (H·W pixels) on which stream 1 is in
#: inference (:meth:`PmSCnStream.working_axes`).
REORDER_MIN_WIDTH = 32
REORDER_MAX_FRAME = 64

CL = torch.channels_last_3d

# (2D sub-kernel, 1D sub-kernel) of each stream, in stream order.
STREAM_KERNELS: Tuple[Tuple[str, str], ...] = (
    ('1xkxk', 'kx1x1'),
    ('kxkx1', '1x1xk'),
    ('kx1xk', '1xkx1'),
)


def check_streams(m: object, n: object) -> None:
    """Raise a ValueError unless m is 1..3 and n is at least 1.

    Args:
        m (object): The number of parallel streams.
        n (object): The number of 2D convs per stream.
    """
    if not isinstance(m, int) or not 1 <= m <= len(STREAM_KERNELS):
        raise ValueError(
            f'PmSCn: m (parallel streams) must be an int in 1..'
            f'{len(STREAM_KERNELS)}, one per orientation, got {m!r}'
        )
    if not isinstance(n, int) or n < 1:
        raise ValueError(
            f'PmSCn: n (2D convs per stream) must be an int >= 1, got {n!r}'
        )


def eq5_mid_channels(in_channels: int, out_channels: int, d: int = 3) -> int:
    """The paper's Eq. 5: the 2D→1D width matching one 3D conv's params.

    Args:
        in_channels (int): k_{i-1}, input channels of the replaced 3D conv.
        out_channels (int): k_i, its output channels.
        d (int): Its kernel size along each axis. Defaults to 3.

    Returns:
        int: M; 144 for 64 → 64 with d = 3, as in R(2+1)D.
    """
    return (out_channels * in_channels * d**3) // (
        in_channels * d**2 + out_channels * d
    )


def stream_widths(
    in_channels: int,
    out_channels: int,
    m: int,
    n: int,
    replaces: int,
    d: int = 3,
) -> List[int]:
    """Output channels of each of a stream's n 2D convs.

    Args:
        in_channels (int): Input channels of the unit.
        out_channels (int): Output channels of the unit.
        m (int): Parallel streams.
        n (int): 2D convs per stream.
        replaces (int): Consecutive 3D convs the unit stands for (1..n):
            C_in → C_out, then C_out → C_out.
        d (int): The replaced 3D kernel size. Defaults to 3.

    Returns:
        list[int]: n widths, ⌊M·r/(n·m)⌋ each, at least 1.
    """
    mids = [
        eq5_mid_channels(
            in_channels if i == 0 else out_channels, out_channels, d
        )
        for i in range(replaces)
    ]
    return [
        max(1, mids[j * replaces // n] * replaces // (n * m)) for j in range(n)
    ]


class PmSCnStream(nn.Module):
    """One stream: n 2D convs (each → BN → ReLU), then one 1D conv.

    Args:
        in_channels (int): Input channels.
        widths (Sequence[int]): Output channels of each 2D conv.
        out_channels (int): Output channels of the 1D conv.
        kernels (tuple[str, str]): The (2D, 1D) sub-kernel names.
        stride (tuple[int, int, int]): Stride of the first 2D conv.
        kernel_size (int): The kernel size k (odd). Defaults to 3.
        dilation (int | Sequence[int]): Dilation of every conv, as in
            ``nn.Conv3d``. Defaults to 1.
        bias (bool): Whether the 1D conv has a bias. Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN3d')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
    """

    def __init__(
        self,
        in_channels: int,
        widths: Sequence[int],
        out_channels: int,
        kernels: Tuple[str, str],
        stride: Tuple[int, int, int],
        kernel_size: int = 3,
        dilation: IntOr3 = 1,
        bias: bool = False,
        norm_cfg: Dict = dict(type='BN3d'),
        act_cfg: Dict = dict(type='ReLU'),
    ) -> None:
        super().__init__()
        self.plane, self.line = kernels
        self.convs2d = nn.ModuleList()
        self.norms = nn.ModuleList()
        channels = in_channels
        for i, width in enumerate(widths):
            self.convs2d.append(
                make_sub_kernel_conv(
                    self.plane,
                    channels,
                    width,
                    kernel_size,
                    stride if i == 0 else 1,
                    dilation,
                    flat=True,
                )
            )
            self.norms.append(build_norm_layer(norm_cfg, width)[1])
            channels = width
        self.conv1d = make_sub_kernel_conv(
            self.line,
            channels,
            out_channels,
            kernel_size,
            1,
            dilation,
            bias,
            flat=True,
        )
        self.act = build_activation_layer(act_cfg)
        if type(self.act) is nn.ReLU:
            # It only ever sees a norm's (or conv's) new output, so it may
            # overwrite it: one pass over memory fewer in training.
            self.act.inplace = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """2D convs with BN and ReLU, then the 1D conv. A conv whose norm
        is folded (deploy form) applies a ReLU itself, in its own call
        where it can (:class:`FlatConv3d`). On the CPU the stream may run
        on a copy of its input with the axes reordered
        (:meth:`working_axes`); the output is the same."""
        axes = self.working_axes(x)
        reordered = axes != SPATIAL_AXES
        kwargs = dict(axes=axes) if reordered else {}
        if reordered:
            x = in_axis_order(x, axes).contiguous(memory_format=CL)
        for conv, norm in zip(self.convs2d, self.norms):
            if isinstance(norm, nn.Identity) and self.folded_relu(conv):
                x = conv(x, relu=True, **kwargs)
            else:
                x = norm_relu(conv(x, **kwargs), norm, self.act)
        y = self.conv1d(x, **kwargs)
        if not reordered:
            return y
        back = tuple(axes.index(a) for a in SPATIAL_AXES)
        return in_axis_order(y, back).contiguous(memory_format=CL)

    def working_axes(self, x: torch.Tensor) -> Tuple[int, int, int]:
        """The order of (T, H, W) this stream runs ``x`` in.

        oneDNN is faster for some kernel shapes than for others of the same
        size, so on a CPU float32 ``channels_last_3d`` input a stream may
        run on a copy of ``x`` with its axes reordered (``docs/benchmarks.md``
        has the measurements):

        * in training, streams 2 and 3 put their 1D conv's axis first: the
          backward pass of ``kxkx1`` / ``1x1xk`` and ``kx1xk`` / ``1xkx1``
          kernels is slower than that of ``1xkxk`` / ``kx1x1`` ones. Only
          streams whose 2D convs are at least :data:`REORDER_MIN_WIDTH` wide
          and whose norms are batch norms: the others ran slower so;
        * in inference, stream 1 puts T last where its frames have at most
          :data:`REORDER_MAX_FRAME` pixels: its ``1xkxk`` convs then run as
          one 2D conv over rows of frames instead of one over many tiny
          frames.

        Everywhere else (other devices, dtypes and layouts, traces,
        compiles) the order is the identity.

        Args:
            x (torch.Tensor): The stream's input, (N, C, T, H, W).

        Returns:
            tuple[int, int, int]: Which of (T, H, W) each spatial axis of
            the stream's working tensor is.
        """
        line_axis = self.line.split('x').index('k')
        if not is_channels_last_cpu_float(x) or not all(
            isinstance(conv, FlatConv3d)
            for conv in (*self.convs2d, self.conv1d)
        ):
            return SPATIAL_AXES
        if not torch.is_grad_enabled():
            small = x.shape[3] * x.shape[4] <= REORDER_MAX_FRAME
            return (1, 2, 0) if line_axis == 0 and small else SPATIAL_AXES
        if (
            line_axis == 0
            or min(conv.out_channels for conv in self.convs2d)
            < REORDER_MIN_WIDTH
            or not all(
                isinstance(norm, (_BatchNorm, nn.Identity))
                for norm in self.norms
            )
        ):
            return SPATIAL_AXES
        return (line_axis, *(a for a in SPATIAL_AXES if a != line_axis))

    def folded_relu(self, conv: nn.Module) -> bool:
        """Whether ``conv`` can apply the stream's activation itself: a
        :class:`FlatConv3d` (as folding makes) and a ReLU."""
        return isinstance(conv, FlatConv3d) and isinstance(self.act, nn.ReLU)

    def fold_norms(self) -> int:
        """Fold each batch norm into the 2D conv before it (deploy form).

        Returns:
            int: How many norms were folded.
        """
        folded = 0
        for i, (conv, norm) in enumerate(zip(self.convs2d, self.norms)):
            if folds_into_conv(norm):
                self.convs2d[i] = conv_with_norm(conv, norm)
                self.norms[i] = nn.Identity()
                folded += 1
        return folded


def folds_into_conv(norm: nn.Module) -> bool:
    """Whether ``norm`` is a batch norm that normalises with running
    statistics in eval mode, and so can fold into the conv before it.

    Args:
        norm (nn.Module): Any module.

    Returns:
        bool: True for a ``_BatchNorm`` that tracks running statistics.
    """
    return isinstance(norm, _BatchNorm) and norm.track_running_stats


def conv_with_norm(
    conv: nn.Conv3d, norm: _BatchNorm, channels: slice = slice(None)
) -> FlatConv3d:
    """One conv computing ``norm(conv(x))`` with the norm's running
    statistics: the weight scaled by γ/σ per filter and a bias.

    Args:
        conv (nn.Conv3d): A conv, with or without a bias.
        norm (_BatchNorm): The batch norm after it.
        channels (slice): The norm's channels that ``conv``'s filters
            give, in order (a PmSCn stream gives a slice of the unit's
            output). Defaults to all of them.

    Returns:
        FlatConv3d: The folded conv, on the conv's device, layout and
        dtype.
    """
    scale, shift = running_scale_shift(norm)
    scale, shift = scale[channels], shift[channels]
    if conv.bias is not None:
        shift = shift + conv.bias * scale
    fused = FlatConv3d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    with torch.no_grad():
        weight = conv.weight * scale.view(-1, 1, 1, 1, 1)
        fused.weight.copy_(weight)
        fused.bias.copy_(shift)
    return fused


class PmSCn(nn.Module):
    """A P_mSC_n unit, a drop-in replacement for 3D convs C_in → C_out.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels, at least m.
        stride (int | tuple[int, int, int]): Stride of the first conv of
            every stream, as (T, H, W); an int s means (s, s, s), as in
            ``nn.Conv3d``. Defaults to 1.
        m (int): Parallel streams, 1..3. Defaults to 1.
        n (int): 2D convs per stream, at least 1. Defaults to 1.
        kernel_size (int): The kernel size k of every conv, and d in Eq. 5.
            Defaults to 3.
        replaces (int, optional): How many consecutive 3D convs (C_in →
            C_out, then C_out → C_out) the unit stands for, 1..n; it sets the
            intermediate widths (see the module docstring). Defaults to n.
        dilation (int | Sequence[int]): Dilation of every conv, as in
            ``nn.Conv3d``. Defaults to 1.
        bias (bool): Whether each stream's 1D conv has a bias. Defaults to
            False.
        norm_cfg (dict): Norm layer after each 2D conv. Defaults to
            ``dict(type='BN3d')``.
        act_cfg (dict): Activation after each 2D conv's norm. Defaults to
            ``dict(type='ReLU')``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: IntOr3 = 1,
        m: int = 1,
        n: int = 1,
        kernel_size: int = 3,
        replaces: Optional[int] = None,
        dilation: IntOr3 = 1,
        bias: bool = False,
        norm_cfg: Dict = dict(type='BN3d'),
        act_cfg: Dict = dict(type='ReLU'),
    ) -> None:
        super().__init__()
        check_streams(m, n)
        replaces = n if replaces is None else replaces
        if not 1 <= replaces <= n:
            raise ValueError(
                f'PmSCn: replaces must lie in 1..n = 1..{n}, got {replaces}'
            )
        if in_channels < 1 or out_channels < m:
            raise ValueError(
                f'PmSCn: needs C_in >= 1 and C_out >= m (one channel per '
                f'stream), got C_in={in_channels}, C_out={out_channels}, '
                f'm={m}'
            )
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(
                f'PmSCn: kernel_size must be odd and positive, '
                f'got {kernel_size}'
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = _triple(stride)
        self.m, self.n, self.replaces = m, n, replaces
        self.widths = stream_widths(
            in_channels, out_channels, m, n, replaces, kernel_size
        )
        outs = uniform_split(
            out_channels, [plane for plane, _ in STREAM_KERNELS[:m]]
        )
        self.streams = nn.ModuleList(
            PmSCnStream(
                in_channels,
                self.widths,
                outs[kernels[0]],
                kernels,
                self.stride,
                kernel_size,
                dilation,
                bias,
                norm_cfg,
                act_cfg,
            )
            for kernels in STREAM_KERNELS[:m]
        )

    def forward(
        self,
        x: torch.Tensor,
        residual: Optional[torch.Tensor] = None,
        relu: bool = False,
    ) -> torch.Tensor:
        """Run the streams and concatenate them on channels; optionally add
        a residual and apply a ReLU, in the same pass where the kernels of
        :mod:`.fused_concat` apply.

        Args:
            x (torch.Tensor): Input of shape (N, C_in, T, H, W).
            residual (torch.Tensor, optional): Added to the concatenation.
            relu (bool): Whether a ReLU follows. Defaults to False.

        Returns:
            torch.Tensor: (N, C_out, T', H', W'), strided as a 3D conv with
            ``stride`` and same padding would be.
        """
        parts = [stream(x) for stream in self.streams]
        return concat_add_relu(parts, residual, relu)

    def switch_to_deploy(self) -> int:
        """Fold the streams' batch norms into their 2D convs (see the module
        docstring); eval-mode outputs are unchanged.

        Returns:
            int: How many norms were folded.
        """
        return sum(stream.fold_norms() for stream in self.streams)

    def absorb_norm(self, norm: nn.Module) -> bool:
        """Fold a batch norm that follows the unit into the streams' 1D
        convs: each stream's filters give a slice of the unit's channels, so
        each takes that slice of the norm. Eval-mode outputs are unchanged,
        and the norm must then be dropped (replaced by an identity) by the
        caller.

        Args:
            norm (nn.Module): The norm applied to the unit's output.

        Returns:
            bool: Whether it was folded; False, with nothing changed, for a
            norm that :func:`folds_into_conv` refuses or that does not have
            the unit's width.
        """
        if not folds_into_conv(norm) or norm.num_features != self.out_channels:
            return False
        start = 0
        for stream in self.streams:
            width = stream.conv1d.out_channels
            stream.conv1d = conv_with_norm(
                stream.conv1d, norm, slice(start, start + width)
            )
            start += width
        return True


def switch_pmscn_to_deploy(model: nn.Module) -> int:
    """Switch every PmSCn unit of ``model`` to its deploy form.

    Args:
        model (nn.Module): Any network with PmSCn units.

    Returns:
        int: How many norms were folded.

    Raises:
        ValueError: When the model has no PmSCn unit.
    """
    units = [m for m in model.modules() if isinstance(m, PmSCn)]
    if not units:
        raise ValueError(
            f'{type(model).__name__} has no PmSCn unit to switch to deploy'
        )
    return sum(unit.switch_to_deploy() for unit in units)
