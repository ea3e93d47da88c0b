"""The 3D U-Net of Çiçek et al. (MICCAI 2016), with a selectable op.

Each level has two 3x3x3 convs, each conv (no bias) → norm → ReLU. The
encoder goes down by 2x2x2 max pooling; the decoder goes up (a 2x2x2
stride-2 transposed conv, or interpolation then a 1x1x1 conv), concatenates
the encoder's features of that level (skip first) and applies its two
convs. A 1x1x1 conv (with bias) gives the classes.

Widths: ``features[i]`` at level i, both convs of a level giving that width
(the original doubles the width inside each encoder level, 32 → 64 at the
first, and keeps the upsampled width; the common simplification here has
one width per level). The default ``(32, 64, 128, 256)`` is four levels,
three poolings, 5.6M parameters.

The replaceable convs are every 3x3x3 conv of the levels; the two convs of
a level (``encoder.<i>.conv1``/``conv2``,
``decoder.<i>.convs.conv1``/``conv2``) are the pair that PmSCn with n >= 2
replaces together.
"""

from typing import Dict, Sequence

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmcv.cnn import build_norm_layer

from ...deprecation import UNSET, renamed_argument
from ..layers.flat_conv import FlatConv3d
from .base import OpSpec, VolumetricNet

UPSAMPLE_MODES = ('deconv', 'trilinear', 'nearest')


class DoubleConv(nn.Module):
    """Two 3x3x3 convs, each conv → norm → ReLU.

    Args:
        in_channels (int): Input channels.
        channels (int): Output channels of both convs.
        norm_cfg (dict): The norm, an mmcv config.
    """

    def __init__(
        self, in_channels: int, channels: int, norm_cfg: Dict
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, channels, 3, padding=1, bias=False)
        self.norm1 = build_norm_layer(norm_cfg, channels)[1]
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv3d(channels, channels, 3, padding=1, bias=False)
        self.norm2 = build_norm_layer(norm_cfg, channels)[1]
        self.act2 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv, norm, ReLU, twice."""
        x = self.act1(self.norm1(self.conv1(x)))
        return self.act2(self.norm2(self.conv2(x)))


def up_layer(mode: str, in_channels: int, out_channels: int) -> nn.Module:
    """x2 upsampling from ``in_channels`` to ``out_channels``.

    Args:
        mode (str): ``'deconv'`` (a 2x2x2 stride-2 transposed conv),
            ``'trilinear'`` or ``'nearest'`` (interpolation, then a 1x1x1
            conv).
        in_channels (int): Input channels.
        out_channels (int): Output channels.

    Returns:
        nn.Module: The layer.
    """
    if mode == 'deconv':
        return nn.ConvTranspose3d(in_channels, out_channels, 2, stride=2)
    return nn.Sequential(
        nn.Upsample(
            scale_factor=2,
            mode=mode,
            align_corners=False if mode == 'trilinear' else None,
        ),
        FlatConv3d(in_channels, out_channels, 1),
    )


class DecoderLevel(nn.Module):
    """Upsample, concatenate the skip, two convs.

    Args:
        in_channels (int): Channels of the deeper level.
        channels (int): This level's width.
        norm_cfg (dict): The norm.
        upsample_mode (str): See :func:`up_layer`.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        norm_cfg: Dict,
        upsample_mode: str,
    ) -> None:
        super().__init__()
        self.up = up_layer(upsample_mode, in_channels, channels)
        self.convs = DoubleConv(2 * channels, channels, norm_cfg)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """Up, concatenate (skip first), convs."""
        return self.convs(torch.cat([skip, self.up(x)], dim=1))


@MODELS.register_module()
class UNet3D(VolumetricNet):
    """A 3D U-Net whose 3x3x3 convs take a selectable op.

    Args:
        spatial_dims (int): Must be 3. Defaults to 3.
        in_channels (int): Input channels. Defaults to 1.
        out_channels (int): Output channels. Defaults to 2.
        op (str | dict): ``dict(type='conv3d' | 'cakes' | 'cakes_search' |
            'pmscn', ...)`` (see :mod:`cakes_mm.models.ops`); PmSCn with
            n >= 2 replaces the two convs of each level together. Defaults
            to ``'conv3d'``.
        features (Sequence[int]): Width per level, shallow to deep; there are
            ``len(features) - 1`` poolings. Defaults to (32, 64, 128, 256).
        norm_cfg (dict): The norm after each conv. Defaults to
            ``dict(type='BN3d')``.
        upsample_mode (str): ``'deconv'``, ``'trilinear'`` or
            ``'nearest'``. Defaults to ``'deconv'``.
        upsample (str, optional): Deprecated name of ``upsample_mode``.

    The input's size must be a multiple of 2^(len(features) - 1).
    """

    OP_TYPES = ('conv3d', 'cakes', 'cakes_search', 'pmscn')
    OP_CONVS = r'^(encoder|decoder)\.\d+\.(convs\.)?conv[12]$'
    PAIRED_CONVS = True

    def __init__(
        self,
        spatial_dims: int = 3,
        in_channels: int = 1,
        out_channels: int = 2,
        op: OpSpec = 'conv3d',
        features: Sequence[int] = (32, 64, 128, 256),
        norm_cfg: Dict = dict(type='BN3d'),
        upsample_mode: str = 'deconv',
        upsample: str = UNSET,
    ) -> None:
        super().__init__(spatial_dims, in_channels, out_channels, op)
        upsample_mode = renamed_argument(
            'UNet3D', 'upsample', upsample, 'upsample_mode', upsample_mode
        )
        if len(features) < 2:
            raise ValueError(
                f'UNet3D: features={features!r} needs at least two levels'
            )
        if upsample_mode not in UPSAMPLE_MODES:
            raise ValueError(
                f'UNet3D: upsample_mode={upsample_mode!r}; expected one '
                f'of {", ".join(UPSAMPLE_MODES)}'
            )
        self.min_size = 2 ** (len(features) - 1)
        widths = [in_channels] + list(features)
        self.encoder = nn.ModuleList(
            DoubleConv(widths[i], widths[i + 1], norm_cfg)
            for i in range(len(features))
        )
        self.pool = nn.MaxPool3d(2)
        self.decoder = nn.ModuleList(
            DecoderLevel(features[i + 1], features[i], norm_cfg, upsample_mode)
            for i in range(len(features) - 1)
        )
        self.head = FlatConv3d(features[0], out_channels, 1)
        self.finish_op()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at the input size.

        Args:
            x (torch.Tensor): (N, in_channels, D, H, W).

        Returns:
            torch.Tensor: (N, out_channels, D, H, W).
        """
        skips = []
        for i, level in enumerate(self.encoder):
            x = level(self.pool(x) if i else x)
            skips.append(x)
        for i in reversed(range(len(self.decoder))):
            x = self.decoder[i](x, skips[i])
        return self.head(x)
