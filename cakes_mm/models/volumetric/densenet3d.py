"""A 3D DenseNet for segmentation, after Bui et al.'s 3D-DenseSeg, as the
PmSCn paper reproduces it for brain MRI (our reading of its §4.2).

The paper gives five dense blocks of four convs, each block followed by a
transition, and says its reproduction drops the original's bottleneck
layers and compression and upsamples simply. It also notes that PmSCn with
n = 2 shrinks this network *below* P1SC1 because each dense layer is a
single conv: there are no consecutive convs to pair, so every 3x3x3 conv is
replaced alone by a unit whose n 2D convs stand for it. What it leaves open,
we chose as follows:

* **stem**: one 3x3x3 conv, in → ``stem_channels``, at full size;
* **dense layer**: norm → ReLU → 3x3x3 conv (no bias) of ``growth_rate``
  channels, concatenated to its input (no 1x1x1 bottleneck);
* **transition** after each of the first four blocks: norm → ReLU → 1x1x1
  conv keeping the width (no compression) → 2x2x2 average pooling; the
  blocks work at 1, 1/2, 1/4, 1/8 and 1/16 of the input size;
* **upsampling**: each block's output goes through norm → ReLU → a 1x1x1
  conv to ``side_channels`` and is interpolated back to the input size;
* **head**: the five side outputs, concatenated, → norm → ReLU → 1x1x1 conv
  (with bias) to the classes.

The defaults (``stem_channels=32``, ``growth_rate=28``, ``side_channels=16``)
give a 3D network of about the paper's size (5.2M for its 3D reproduction).
The replaceable convs are the stem and every dense layer's conv.
"""

from typing import Dict, Sequence

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmcv.cnn import build_norm_layer

from ..layers.flat_conv import FlatConv3d
from .base import OpSpec, VolumetricNet


def norm_act_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    norm_cfg: Dict,
    bias: bool = False,
) -> nn.Sequential:
    """norm → ReLU → conv (size-keeping).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): 1 or 3.
        norm_cfg (dict): The norm, an mmcv config.
        bias (bool): Whether the conv has a bias. Defaults to False.

    Returns:
        nn.Sequential: With children ``norm``, ``act``, ``conv``.
    """
    layer = nn.Sequential()
    layer.add_module('norm', build_norm_layer(norm_cfg, in_channels)[1])
    layer.add_module('act', nn.ReLU())
    # FlatConv3d: nn.Conv3d's parameters, and its 1x1x1 kernels stay off
    # PyTorch's unvectorised CPU conv (see flat_conv.takes_unvectorised_path)
    layer.add_module(
        'conv',
        FlatConv3d(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            bias=bias,
        ),
    )
    return layer


class DenseLayer(nn.Module):
    """norm → ReLU → 3x3x3 conv, concatenated to the input.

    Args:
        in_channels (int): Input channels.
        growth_rate (int): Channels it adds.
        norm_cfg (dict): The norm.
    """

    def __init__(
        self, in_channels: int, growth_rate: int, norm_cfg: Dict
    ) -> None:
        super().__init__()
        self.layer = norm_act_conv(in_channels, growth_rate, 3, norm_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The input and the new channels."""
        return torch.cat([x, self.layer(x)], dim=1)


def upsample(factor: int, mode: str) -> nn.Module:
    """Interpolation by ``factor`` (an identity for 1)."""
    if factor == 1:
        return nn.Identity()
    return nn.Upsample(
        scale_factor=factor,
        mode=mode,
        align_corners=False if mode == 'trilinear' else None,
    )


@MODELS.register_module()
class DenseNet3D(VolumetricNet):
    """A 3D DenseNet for segmentation whose 3x3x3 convs take a selectable op.

    Args:
        spatial_dims (int): Must be 3. Defaults to 3.
        in_channels (int): Input channels. Defaults to 1 (T1 MRI).
        out_channels (int): Classes. Defaults to 4 (background, CSF, GM, WM).
        op (str | dict): ``dict(type='conv3d' | 'cakes' | 'pmscn', ...)``
            (see :mod:`cakes_mm.models.ops`); PmSCn replaces each conv
            alone, for any n. A search supernet needs a norm right after
            each searched conv, which pre-activation dense layers do not
            have. Defaults to ``'conv3d'``.
        layers_per_block (Sequence[int]): Dense layers in each block; one
            block per resolution. Defaults to (4, 4, 4, 4, 4).
        stem_channels (int): Width of the stem conv. Defaults to 32.
        growth_rate (int): Channels each dense layer adds. Defaults to 28.
        side_channels (int): Channels of each block's upsampled output.
            Defaults to 16.
        norm_cfg (dict): Every norm. Defaults to ``dict(type='BN3d')``.
        upsample_mode (str): ``'trilinear'`` or ``'nearest'``. Defaults to
            ``'trilinear'``.

    The input's size must be a multiple of 2^(len(layers_per_block) - 1).
    """

    OP_TYPES = ('conv3d', 'cakes', 'pmscn')
    OP_CONVS = r'^(stem|blocks\.\d+\.\d+\.layer\.conv)$'
    PAIRED_CONVS = False

    def __init__(
        self,
        spatial_dims: int = 3,
        in_channels: int = 1,
        out_channels: int = 4,
        op: OpSpec = 'conv3d',
        layers_per_block: Sequence[int] = (4, 4, 4, 4, 4),
        stem_channels: int = 32,
        growth_rate: int = 28,
        side_channels: int = 16,
        norm_cfg: Dict = dict(type='BN3d'),
        upsample_mode: str = 'trilinear',
    ) -> None:
        super().__init__(spatial_dims, in_channels, out_channels, op)
        if upsample_mode not in ('trilinear', 'nearest'):
            raise ValueError(
                f'DenseNet3D: upsample_mode={upsample_mode!r};'
                f" expected 'trilinear' or 'nearest'"
            )
        self.min_size = 2 ** (len(layers_per_block) - 1)
        self.stem = nn.Conv3d(
            in_channels, stem_channels, 3, padding=1, bias=False
        )
        self.blocks = nn.ModuleList()
        self.sides = nn.ModuleList()
        self.transitions = nn.ModuleList()
        width = stem_channels
        for index, layers in enumerate(layers_per_block):
            block = nn.Sequential()
            for i in range(layers):
                block.add_module(
                    str(i),
                    DenseLayer(width + i * growth_rate, growth_rate, norm_cfg),
                )
            self.blocks.append(block)
            width += layers * growth_rate
            side = norm_act_conv(width, side_channels, 1, norm_cfg)
            side.add_module('up', upsample(2**index, upsample_mode))
            self.sides.append(side)
            if index < len(layers_per_block) - 1:
                transition = norm_act_conv(width, width, 1, norm_cfg)
                transition.add_module('pool', nn.AvgPool3d(2))
                self.transitions.append(transition)
        self.head = norm_act_conv(
            len(layers_per_block) * side_channels,
            out_channels,
            1,
            norm_cfg,
            bias=True,
        )
        self.finish_op()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at the input size.

        Args:
            x (torch.Tensor): (N, in_channels, D, H, W).

        Returns:
            torch.Tensor: (N, out_channels, D, H, W).
        """
        x = self.stem(x)
        sides = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            sides.append(self.sides[index](x))
            if index < len(self.transitions):
                x = self.transitions[index](x)
        return self.head(torch.cat(sides, dim=1))
