"""Deploy mode: a trained CAKES ResNet as 2D convolutions over frames.

In deploy mode the clip (N, C, T, H, W) runs as a batch of N·T frames,
(N·T, C, H, W), which is how TSN runs, and every layer becomes a
``conv2d`` with its BN folded in:

* the stem, the 1x1x1 convs and the shortcuts are plain 2D convs;
* a middle CAKES conv becomes one 2D conv per spatial kernel shape (3x3 for
  ``1xkxk`` and ``kxkxk``, 1x1 for ``kx1x1``, ...). A sub-kernel spanning T
  contributes one 2D slice per time offset d: the slice for d = 0 lands on
  the output channel, the others come out as extra channels and are added
  back shifted by d frames (zero outside the clip, as the 3D conv's
  padding). The multiply-adds are those of the 3D form.
* The groups of a layer are laid out so that each 2D conv's output is
  already in place; the next 1x1 conv's input weights are permuted to match,
  so no channel shuffling is needed.
* Activations and weights are kept ``channels_last``. On CPU this is the
  larger win: oneDNN then runs every conv on NHWC directly instead of
  reordering NCHW in and out around each call, which costs most for 1x1
  convs and for the arbitrary widths of CAKES groups. ``docs/deploy.md``
  gives the measured effect of each step.

The result equals the eval-mode network (up to float rounding). It is for
inference only.
"""

from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.fused_conv import FusedConv2d


def bn_scale_shift(
    bn: nn.modules.batchnorm._BatchNorm,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode BN as a per-channel affine map, ``x * scale + shift``.

    Args:
        bn (_BatchNorm): The BN.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``scale`` and ``shift``, one
        value per channel.
    """
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def fold_bn(
    weight: torch.Tensor, bn: nn.modules.batchnorm._BatchNorm
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fold an eval-mode BN that follows a bias-free conv into the conv.

    Args:
        weight (torch.Tensor): Conv weight, output channels first.
        bn (_BatchNorm): The BN over those output channels.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: The scaled weight and the bias.
    """
    scale, shift = bn_scale_shift(bn)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    return weight * scale.view(shape), shift


def frame_conv(
    weight: torch.Tensor, bias: torch.Tensor, stride: int = 1
) -> FusedConv2d:
    """A 2D conv with the given weight and bias and 'same' padding, on the
    weight's device; it can also add a residual and apply ReLU in the same
    call (:class:`~cakes_mm.models.layers.fused_conv.FusedConv2d`)."""
    out_channels, in_channels, kh, kw = weight.shape
    conv = FusedConv2d(
        in_channels,
        out_channels,
        (kh, kw),
        stride=stride,
        padding=(kh // 2, kw // 2),
        bias=True,
        device=weight.device,
        dtype=weight.dtype,
    )
    conv.weight.data.copy_(weight)
    conv.bias.data.copy_(bias)
    return conv


def pointwise(conv3d: nn.Conv3d, bn: nn.Module) -> FusedConv2d:
    """A 1x1x1 (or 1xkxk) conv + BN as one 2D conv on frames."""
    weight, bias = fold_bn(conv3d.weight[:, :, 0], bn)
    conv = frame_conv(weight, bias, conv3d.stride[1])
    conv.padding = conv3d.padding[1:]
    return conv


def fixed_sizes(x: torch.Tensor) -> Tuple[int, ...]:
    """``x``'s sizes after the batch, as plain ints: constants in a traced
    (ONNX) graph, where only the batch stays dynamic. Reshapes given these
    and -1 for the batch then need no shape arithmetic in the graph, which
    lets onnxruntime plan the memory of a static-shaped network, which runs
    faster (timings in docs/onnx.md).

    Args:
        x (torch.Tensor): Any tensor with a batch dimension first.

    Returns:
        tuple: ``x.shape[1:]`` as ints.
    """
    return tuple(int(size) for size in x.shape[1:])


def shift_in_time(frames: torch.Tensor, offset: int) -> torch.Tensor:
    """Move a (N, T, ...) tensor by ``offset`` frames along T: frame t of
    the result is frame t + offset of the input, zero outside the clip.

    Args:
        frames (torch.Tensor): The tensor, time on dim 1 (5 dims).
        offset (int): Frames to look ahead (> 0) or back (< 0), at most T
            either way (deploy mode's offsets are +-1).

    Returns:
        torch.Tensor: The moved tensor, of the same shape.
    """
    if offset > 0:
        return F.pad(frames[:, offset:], (0, 0, 0, 0, 0, 0, 0, offset))
    return F.pad(frames[:, :offset], (0, 0, 0, 0, 0, 0, -offset, 0))


def add_shifted(
    into: torch.Tensor, frames: torch.Tensor, offset: int, out_of_place: bool
) -> torch.Tensor:
    """``into`` plus ``frames`` moved by ``offset`` along T
    (:func:`shift_in_time`).

    Args:
        into (torch.Tensor): (N, T, ...) sums so far.
        frames (torch.Tensor): (N, T, ...) frames to add, moved.
        offset (int): A non-zero offset, as for :func:`shift_in_time`.
        out_of_place (bool): Return a new tensor (zero padding and an add,
            which traces to few ONNX nodes) instead of adding into the
            overlapping frames of ``into`` in place (no new tensor).

    Returns:
        torch.Tensor: The sum; ``into`` itself when added in place.
    """
    if out_of_place:
        return into + shift_in_time(frames, offset)
    if offset < 0:
        into[:, -offset:] += frames[:, :offset]
    else:
        into[:, :-offset] += frames[:, offset:]
    return into


class ShapeGroup(nn.Module):
    """The ops of one middle conv that share a spatial kernel shape, as one
    2D conv plus shifted adds for their time offsets.

    Args:
        parts (list[tuple[torch.Tensor, torch.Tensor]]): For each op of the
            group, its BN-folded 3D weight (C_g, C_in, kT, kH, kW) and bias.
            Ops spanning T must come first.
        stride (int): Spatial stride.

    Attributes:
        out_of_place (bool): Add the shifted frames out of place (zero
            padding along T and adds) instead of in place, also in eager
            calls. The sums are the same either way. A trace (the ONNX
            export) and ``torch.compile`` always get the out-of-place form:
            traced, each in-place slice update becomes a ScatterND with its
            index arithmetic (CAKES123D_P: about 12,700 ONNX nodes against
            3,200, docs/onnx.md); compiled, Inductor turned them into one
            kernel of nested masked loads per block, which made
            CAKES12D_C's compiled deploy form 6x slower than eager (bf16,
            batch 1: 414 against 68 ms), where the zero padding and adds
            fuse into plain loops (47 ms; docs/benchmarks.md).
    """

    out_of_place = False

    def __init__(
        self, parts: List[Tuple[torch.Tensor, torch.Tensor]], stride: int
    ) -> None:
        super().__init__()
        temporal = [w for w, _ in parts if w.shape[2] > 1]
        self.temporal_width = sum(w.shape[0] for w in temporal)
        self.width = sum(w.shape[0] for w, _ in parts)
        kt = temporal[0].shape[2] if temporal else 1
        if any(w.shape[2] != kt for w in temporal):
            raise ValueError('ops of one shape group must share kT')
        self.offsets = [d for d in range(-(kt // 2), kt // 2 + 1) if d != 0]
        centre = [w[:, :, w.shape[2] // 2] for w, _ in parts]
        extra = [
            torch.cat([w[:, :, d + kt // 2] for w in temporal])
            for d in self.offsets
        ]
        weight = torch.cat(centre + extra)
        bias = torch.cat(
            [b for _, b in parts]
            + [weight.new_zeros(self.temporal_width)] * len(extra)
        )
        self.conv = frame_conv(weight, bias, stride)

    def forward(
        self, x: torch.Tensor, frames: int, relu: bool = False
    ) -> torch.Tensor:
        """(N·T, C_in, H, W) → (N·T, width, H', W').

        Args:
            x (torch.Tensor): The frames.
            frames (int): T, the frames per clip.
            relu (bool): Apply ReLU to the sums: as the conv's post-op in a
                group without time offsets (in ONNX a ``Conv`` that
                onnxruntime fuses with its ``Relu``), else after the
                shifted adds. Defaults to False.

        Returns:
            torch.Tensor: The group's output channels.
        """
        z = self.conv(x, relu=relu and not self.offsets)
        if not self.offsets:
            return z
        out_of_place = (
            self.out_of_place
            or torch.jit.is_tracing()
            or torch.compiler.is_compiling()
        )
        channels, h, w = fixed_sizes(z)
        z = z.view(-1, frames, channels, h, w)
        width = self.temporal_width
        temporal = z[:, :, :width]
        for i, offset in enumerate(self.offsets):
            start = self.width + i * width
            temporal = add_shifted(
                temporal,
                z[:, :, start : start + width],
                offset,
                out_of_place,
            )
        out = (
            torch.cat([temporal, z[:, :, width : self.width]], dim=2)
            if out_of_place
            else z[:, :, : self.width]  # ``temporal`` was added in place
        )
        if relu:
            out = F.relu(out, inplace=not out_of_place)
        return out.reshape(-1, self.width, h, w)


class DeployMidConv(nn.Module):
    """A BN-folded CAKES middle conv on frames, in a deploy channel order.

    Args:
        mid (CAKESConv3d): The trained middle conv.
        bn (_BatchNorm): The BN that follows it.
    """

    def __init__(self, mid: nn.Module, bn: nn.Module) -> None:
        super().__init__()
        scale, shift = bn_scale_shift(bn)
        by_shape: Dict[Tuple[int, int], list] = {}
        positions = (
            torch.arange(mid.out_channels, device=scale.device)
            if mid.channel_order is None
            else mid.channel_order
        )
        start = 0
        for name, count in mid.choice.items():
            if count == 0:
                continue
            channels = positions[start : start + count]
            start += count
            weight = mid.convs[name].weight * scale[channels].view(
                -1, 1, 1, 1, 1
            )
            by_shape.setdefault(tuple(weight.shape[3:]), []).append(
                (weight, shift[channels], channels)
            )
        groups, order = [], []
        for parts in by_shape.values():
            parts.sort(key=lambda p: p[0].shape[2] == 1)  # temporal first
            groups.append(
                ShapeGroup([(w, b) for w, b, _ in parts], mid.stride[1])
            )
            order += [c for _, _, c in parts]
        self.groups = nn.ModuleList(groups)
        self.register_buffer('order', torch.cat(order))

    def forward(
        self, x: torch.Tensor, frames: int, relu: bool = False
    ) -> torch.Tensor:
        """(N·T, C_in, H, W) → (N·T, C_out, H', W'), channels in
        :attr:`order`; with ReLU applied per group if ``relu``
        (:meth:`ShapeGroup.forward`)."""
        outs = [group(x, frames, relu) for group in self.groups]
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


class DeployBottleneck(nn.Module):
    """A CAKES bottleneck with every conv and BN fused, on frames.

    Args:
        block (CAKESBottleneck): The trained block (in eval mode).
    """

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conv1 = pointwise(block.conv1, block.bn1)
        self.conv2 = DeployMidConv(block.conv2, block.bn2)
        weight, bias = fold_bn(block.conv3.weight[:, :, 0], block.bn3)
        self.conv3 = frame_conv(weight[:, self.conv2.order], bias)
        self.downsample = (
            None
            if block.downsample is None
            else pointwise(block.downsample[0], block.downsample[1])
        )

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv1(x, relu=True)
        out = self.conv2(out, frames, relu=True)
        return self.conv3(out, identity, relu=True)


class DeployResNet(nn.Module):
    """A whole CAKES ResNet in deploy form.

    Args:
        backbone (CAKESResNet): The trained backbone; its middle convs must
            be :class:`CAKESConv3d` (not the P3D baseline or a supernet).
        out_indices (Sequence[int]): Stages whose output is returned.
    """

    def __init__(self, backbone: nn.Module, out_indices: Sequence[int]):
        super().__init__()
        self.stem = pointwise(backbone.conv1, backbone.bn1)
        self.stages = nn.ModuleList(
            nn.ModuleList(
                DeployBottleneck(block) for block in getattr(backbone, name)
            )
            for name in backbone.res_layers
        )
        self.out_indices = tuple(out_indices)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor):
        c, t, h, w = fixed_sizes(x)
        x = (
            x.transpose(1, 2)
            .reshape(-1, c, h, w)
            .contiguous(memory_format=torch.channels_last)
        )
        x = F.max_pool2d(self.stem(x, relu=True), 3, 2, 1)
        outs = []
        for i, stage in enumerate(self.stages):
            for block in stage:
                x = block(x, t)
            if i in self.out_indices:
                outs.append(x.view(-1, t, *fixed_sizes(x)).transpose(1, 2))
        return outs[0] if len(outs) == 1 else tuple(outs)
