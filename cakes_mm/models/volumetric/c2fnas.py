"""C2FNAS-Panc (Yu et al., CVPR 2020), the network the CAKES paper shrinks
for pancreas segmentation, rebuilt from its published description.

Every conv block is pre-activation: ReLU → conv (no bias) → norm
(InstanceNorm with affine scale and shift by default). With base width f
(32) and a 96³ patch:

* **first stem**: 3x3x3 conv in → f at full size, norm, then a block with
  a 3x3x3 stride-2 conv f → 2f (48³);
* **12 cells** (table :data:`CELLS`; widths 2f, 4f, 8f, 16f at 1/2, 1/4,
  1/8, 1/16 of the input size). Each holds one or two *op convs*, the only
  layers ``op`` changes:

  * ``single``: 1x1x1 prep → op conv → 1x1x1 post;
  * ``down``: a 3x3x3 stride-2 prep (doubles the width) → op → 1x1x1 post;
  * ``merge``: each of two inputs gets its own 1x1x1 prep and op conv; the
    two are summed, then a 1x1x1 post;
  * ``merge_up``: as ``merge``, the deeper input first upsampled x2 (then
    reduced by its prep);

  17 op convs, 2,560 output channels in all at f = 32;
* **end stem**: 3x3x3 conv 2f → f, upsampling x2, 3x3x3 conv f → f, then
  ReLU and a 1x1x1 conv (with bias) to the classes.

The stems (the first two and the last two 3x3x3 convs) never change. The
op convs are named ``cells.<cell>.op.conv`` (merge cells: ``op_a`` for the
first input, ``op_b`` for the second); an arch lists them in that module
order, cell by cell, E1 to D6.
"""

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmcv.cnn import build_norm_layer

from ..layers.channels_last_norm import channels_last_instance_norm
from ..layers.flat_conv import FlatConv3d
from ..layers.sub_kernels import make_sub_kernel_conv
from .base import OpSpec, VolumetricNet

#: (name, kind, inputs, level): a cell at level l works at 1/2^(l+1) of the
#: input size with width 2^(l+1)·f; ``'stem'`` is the first stem's output.
CELLS: Tuple[Tuple[str, str, Tuple[str, ...], int], ...] = (
    ('E1', 'single', ('stem',), 0),
    ('E2', 'merge', ('E1', 'stem'), 0),
    ('E3', 'down', ('E2',), 1),
    ('E4', 'single', ('E3',), 1),
    ('E5', 'down', ('E4',), 2),
    ('E6', 'down', ('E5',), 3),
    ('D1', 'merge_up', ('E6', 'E5'), 2),
    ('D2', 'single', ('D1',), 2),
    ('D3', 'merge_up', ('D2', 'E4'), 1),
    ('D4', 'merge_up', ('D3', 'E2'), 0),
    ('D5', 'single', ('D4',), 0),
    ('D6', 'merge', ('D5', 'D4'), 0),
)


def upsampler(mode: str) -> nn.Upsample:
    """x2 upsampling by interpolation (``'trilinear'`` or ``'nearest'``)."""
    if mode not in ('trilinear', 'nearest'):
        raise ValueError(
            f"upsample_mode must be 'trilinear' or 'nearest', got {mode!r}"
        )
    return nn.Upsample(
        scale_factor=2,
        mode=mode,
        align_corners=False if mode == 'trilinear' else None,
    )


def op_conv(op: str, channels: int) -> nn.Module:
    """A size-keeping op conv of ``channels`` → ``channels``.

    Args:
        op (str): ``'conv3d'`` (3x3x3), ``'conv2d'`` (3x3x1) or ``'p3d'``
            (3x3x1 then 1x1x3, nothing between).
        channels (int): Its width.

    Returns:
        nn.Module: The conv (no bias).
    """
    if op == 'conv3d':
        return make_sub_kernel_conv('kxkxk', channels, channels)
    if op == 'conv2d':
        return make_sub_kernel_conv('kxkx1', channels, channels)
    return nn.Sequential(
        make_sub_kernel_conv('kxkx1', channels, channels),
        make_sub_kernel_conv('1x1xk', channels, channels),
    )


class PreActConv(nn.Module):
    """ReLU → conv (no bias) → norm; the first stem conv skips the ReLU.

    Args:
        conv (nn.Module): The conv.
        channels (int): Its output channels.
        norm_cfg (dict): The norm, an mmcv config.
        activate (bool): Whether a ReLU comes first. Defaults to True.
    """

    def __init__(
        self,
        conv: nn.Module,
        channels: int,
        norm_cfg: Dict,
        activate: bool = True,
    ) -> None:
        super().__init__()
        self.act = nn.ReLU() if activate else nn.Identity()
        self.conv = conv
        self.norm = build_norm_layer(norm_cfg, channels)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ReLU, conv, norm."""
        return channels_last_instance_norm(self.conv(self.act(x)), self.norm)


def pointwise(
    in_channels: int, out_channels: int, norm_cfg: Dict
) -> PreActConv:
    """A pre-activation 1x1x1 block."""
    return PreActConv(
        FlatConv3d(in_channels, out_channels, 1, bias=False),
        out_channels,
        norm_cfg,
    )


def cubic(
    in_channels: int,
    out_channels: int,
    norm_cfg: Dict,
    stride: int = 1,
    activate: bool = True,
) -> PreActConv:
    """A pre-activation 3x3x3 block (a stem conv, a down cell's prep or an
    end conv), its conv a :class:`FlatConv3d`, which calls oneDNN where
    PyTorch would take its unvectorised kernel (one small sample, as the
    first stem conv's one-channel input at batch 1 is)."""
    return PreActConv(
        FlatConv3d(in_channels, out_channels, 3, stride, 1, bias=False),
        out_channels,
        norm_cfg,
        activate,
    )


class SingleCell(nn.Module):
    """``single`` or ``down``: prep → op conv → 1x1x1 post.

    Args:
        in_channels (int): Input channels.
        channels (int): The cell's width.
        op (str): The built op of its op conv.
        norm_cfg (dict): The norm.
        down (bool): A 3x3x3 stride-2 prep instead of a 1x1x1 one.
            Defaults to False.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        op: str,
        norm_cfg: Dict,
        down: bool = False,
    ) -> None:
        super().__init__()
        self.prep = (
            cubic(in_channels, channels, norm_cfg, stride=2)
            if down
            else pointwise(in_channels, channels, norm_cfg)
        )
        self.op = PreActConv(op_conv(op, channels), channels, norm_cfg)
        self.post = pointwise(channels, channels, norm_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Prep, op, post."""
        return self.post(self.op(self.prep(x)))


class MergeCell(nn.Module):
    """``merge`` or ``merge_up``: a prep and an op conv per input, summed,
    then a 1x1x1 post.

    Args:
        in_channels (Sequence[int]): Channels of the two inputs.
        channels (int): The cell's width.
        op (str): The built op of its op convs.
        norm_cfg (dict): The norm.
        upsample (nn.Module, optional): Applied to the first (deeper) input
            before its prep. Defaults to None (same size).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        channels: int,
        op: str,
        norm_cfg: Dict,
        upsample: Optional[nn.Module] = None,
    ) -> None:
        super().__init__()
        self.up = upsample or nn.Identity()
        self.prep_a = pointwise(in_channels[0], channels, norm_cfg)
        self.op_a = PreActConv(op_conv(op, channels), channels, norm_cfg)
        self.prep_b = pointwise(in_channels[1], channels, norm_cfg)
        self.op_b = PreActConv(op_conv(op, channels), channels, norm_cfg)
        self.post = pointwise(channels, channels, norm_cfg)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Both branches, summed, then the post."""
        return self.post(
            self.op_a(self.prep_a(self.up(a))) + self.op_b(self.prep_b(b))
        )


@MODELS.register_module()
class C2FNAS(VolumetricNet):
    """C2FNAS-Panc, with a selectable op in its 17 op convs.

    Args:
        spatial_dims (int): Must be 3. Defaults to 3.
        in_channels (int): Input channels. Defaults to 1 (CT).
        out_channels (int): Classes. Defaults to 3 (MSD pancreas: background,
            pancreas, tumour).
        op (str | dict): ``dict(type='conv3d' | 'conv2d' | 'p3d' | 'cakes'
            | 'cakes_search' | 'pmscn', ...)`` (see
            :mod:`cakes_mm.models.ops`). PmSCn with n >= 2 replaces each op
            conv alone (they do not come in pairs). Defaults to
            ``'conv3d'``.
        base_channels (int): f, the first stem's width. Defaults to 32.
        norm_cfg (dict): The norm of every block. Defaults to
            ``dict(type='IN3d', affine=True)``.
        upsample_mode (str): ``'trilinear'`` or ``'nearest'``. Defaults to
            ``'trilinear'``.

    The input's size must be a multiple of 16 along each axis.
    """

    OP_TYPES = ('conv3d', 'conv2d', 'p3d', 'cakes', 'cakes_search', 'pmscn')
    OP_CONVS = r'^cells\.\w+\.op(_[ab])?\.conv$'
    PAIRED_CONVS = False

    def __init__(
        self,
        spatial_dims: int = 3,
        in_channels: int = 1,
        out_channels: int = 3,
        op: OpSpec = 'conv3d',
        base_channels: int = 32,
        norm_cfg: Dict = dict(type='IN3d', affine=True),
        upsample_mode: str = 'trilinear',
    ) -> None:
        super().__init__(spatial_dims, in_channels, out_channels, op)
        self.min_size = 16
        f = base_channels
        self.stem = nn.Sequential(
            cubic(in_channels, f, norm_cfg, activate=False),
            cubic(f, 2 * f, norm_cfg, stride=2),
        )
        widths = {'stem': 2 * f}
        self.cells = nn.ModuleDict()
        for name, kind, inputs, level in CELLS:
            width = 2 ** (level + 1) * f
            sources = [widths[source] for source in inputs]
            if kind in ('single', 'down'):
                cell = SingleCell(
                    sources[0],
                    width,
                    self.built_op,
                    norm_cfg,
                    down=kind == 'down',
                )
            else:
                cell = MergeCell(
                    sources,
                    width,
                    self.built_op,
                    norm_cfg,
                    upsampler(upsample_mode) if kind == 'merge_up' else None,
                )
            self.cells[name] = cell
            widths[name] = width
        self.end = nn.Sequential(
            cubic(2 * f, f, norm_cfg),
            upsampler(upsample_mode),
            cubic(f, f, norm_cfg),
            nn.ReLU(),
            FlatConv3d(f, out_channels, 1),
        )
        self.finish_op()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at the input size.

        Args:
            x (torch.Tensor): (N, in_channels, D, H, W), each size a
                multiple of 16.

        Returns:
            torch.Tensor: (N, out_channels, D, H, W).
        """
        features = {'stem': self.stem(x)}
        for name, _, inputs, _ in CELLS:
            features[name] = self.cells[name](
                *[features[source] for source in inputs]
            )
        return self.end(features[CELLS[-1][0]])
