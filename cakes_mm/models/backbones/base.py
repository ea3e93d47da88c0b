"""What the plugin's 3D ResNets share: options, the stage loop,
initialisation, ``pretrained``, ``frozen_stages`` and ``norm_eval``, as in
mmaction2's ResNet3d."""

from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, kaiming_init
from mmengine.runner import load_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

from .resnet2d_inflation import StateDict, load_2d_resnet, resnet_layout


class ResNet3dBase(BaseModule):
    """Base of :class:`CAKESResNet` and :class:`PmSCnResNet`.

    A subclass defines ``arch_settings`` ({depth: (block, stage blocks)}),
    calls :meth:`set_common_options`, :meth:`build_stem` and
    :meth:`build_stages` from its constructor, and implements
    :meth:`residual_norms` and :meth:`inflate_weights`.
    """

    def set_common_options(
        self,
        depth: int,
        out_indices: Sequence[int],
        pretrained: Optional[str],
        pretrained2d: bool,
        frozen_stages: int,
        norm_eval: bool,
        zero_init_residual: bool,
    ) -> None:
        """Check and store the options every 3D ResNet here shares.

        Args:
            depth (int): A key of ``arch_settings``.
            out_indices (Sequence[int]): Stages whose output is returned,
                each in 0..3.
            pretrained (str, optional): A checkpoint to start from.
            pretrained2d (bool): Whether ``pretrained`` is a 2D ResNet to
                inflate (else a checkpoint of this network).
            frozen_stages (int): Stages to freeze (-1: none, 0: the stem).
            norm_eval (bool): Whether BNs stay in eval mode when training.
            zero_init_residual (bool): Whether each residual branch starts
                as zero when training from scratch.

        Raises:
            KeyError: An unknown depth.
            ValueError: Empty ``out_indices`` or one outside 0..3.
        """
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise KeyError(
                f'invalid depth {depth} for {name}; choose '
                f'from {sorted(self.arch_settings)}'
            )
        if (
            not out_indices
            or not 0 <= min(out_indices) <= max(out_indices) < 4
        ):
            raise ValueError(f'out_indices {out_indices} must lie in 0..3')
        self.depth = depth
        self.block, self.stage_blocks = self.arch_settings[depth]
        self.out_indices = tuple(out_indices)
        self.pretrained = pretrained
        self.pretrained2d = pretrained2d
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual

    def forward(
        self, x: torch.Tensor
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Backbone forward: the stem (:meth:`forward_stem`), then the
        stages.

        Args:
            x (torch.Tensor): A clip of shape (N, C, T, H, W).

        Returns:
            torch.Tensor | tuple[torch.Tensor]: The output of the one stage
            in ``out_indices``, else one tensor per index.
        """
        x = self.forward_stem(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """``conv1`` → ``bn1`` → ``relu`` → ``maxpool``."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def build_stem(
        self,
        in_channels: int,
        base_channels: int,
        kernel: Sequence[int],
        stride: Sequence[int],
        norm_cfg: Dict,
        act_cfg: Dict,
    ) -> None:
        """Build the stem: ``conv1`` (bias-free, size-keeping padding),
        ``bn1``, ``relu`` and a 1x3x3 ``maxpool`` of stride (1, 2, 2).

        Args:
            in_channels (int): Channels of the input clip.
            base_channels (int): Channels of the stem's output.
            kernel (Sequence[int]): ``conv1``'s (T, H, W) kernel (padded by
                k // 2 each side).
            stride (Sequence[int]): ``conv1``'s (T, H, W) stride.
            norm_cfg (dict): Config of ``bn1``.
            act_cfg (dict): Config of ``relu``.
        """
        self.conv1 = nn.Conv3d(
            in_channels,
            base_channels,
            tuple(kernel),
            stride=tuple(stride),
            padding=tuple(k // 2 for k in kernel),
            bias=False,
        )
        self.bn1 = build_norm_layer(norm_cfg, base_channels)[1]
        self.relu = build_activation_layer(act_cfg)
        self.maxpool = nn.MaxPool3d(
            (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)
        )

    def build_stages(
        self,
        base_channels: int,
        make_block: Callable[[int, int, int, int], nn.Module],
    ) -> None:
        """Build the stages ``layer1``, ``layer2``, ... (one per entry of
        ``stage_blocks``, named in ``res_layers``) and set ``feat_dim``.

        Stage i has ``base_channels * 2**i`` planes; each block takes the
        ``planes * block.expansion`` channels of the one before it, the
        first block the stem's ``base_channels``.

        Args:
            base_channels (int): Width of the stem and planes of the first
                stage.
            make_block (Callable[[int, int, int, int], nn.Module]):
                ``make_block(inplanes, planes, i, j)`` builds block j of
                stage i; blocks are built in order.
        """
        inplanes = base_channels
        self.res_layers = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            blocks = []
            for j in range(num_blocks):
                blocks.append(make_block(inplanes, planes, i, j))
                inplanes = planes * self.block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.res_layers.append(name)
        self.feat_dim = inplanes

    def load_pretrained_2d(self, bottleneck: bool) -> StateDict:
        """Load ``self.pretrained``, a 2D ResNet to inflate, checking that
        its stages and block type are this network's.

        Args:
            bottleneck (bool): Whether this network's blocks are
                bottlenecks (else basic blocks).

        Returns:
            dict[str, torch.Tensor]: The 2D state, in torchvision's key
            layout.

        Raises:
            ValueError: A 2D ResNet of other stage blocks or block type.
        """
        state2d = load_2d_resnet(self.pretrained)
        stage_blocks, is_bottleneck = resnet_layout(state2d)
        if stage_blocks != self.stage_blocks or is_bottleneck != bottleneck:
            kinds = ('basic', 'bottleneck')
            raise ValueError(
                f'{self.pretrained}: a 2D ResNet with stage blocks '
                f'{stage_blocks} ({kinds[is_bottleneck]} blocks) cannot '
                f'inflate a {type(self).__name__}-{self.depth} with stage '
                f'blocks {self.stage_blocks} ({kinds[bottleneck]} blocks)'
            )
        return state2d

    def residual_norms(self) -> List[nn.Module]:
        """The last norm of every residual branch."""
        raise NotImplementedError

    def inflate_weights(self, logger: MMLogger) -> None:
        """Initialise from ``self.pretrained``, a 2D ResNet checkpoint."""
        raise NotImplementedError

    def init_weights(self) -> None:
        """Kaiming/constant init, then inflate or load ``pretrained``.

        From scratch, ``zero_init_residual`` zeroes each residual branch's
        last norm, so every block starts as the identity.
        """
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                kaiming_init(m)
            elif isinstance(m, _BatchNorm):
                constant_init(m, 1)
        if self.zero_init_residual and not self.pretrained:
            for norm in self.residual_norms():
                constant_init(norm, 0)
        if self.pretrained:
            logger = MMLogger.get_current_instance()
            if self.pretrained2d:
                self.inflate_weights(logger)
            else:
                load_checkpoint(
                    self, self.pretrained, strict=False, logger=logger
                )

    def frozen_modules(self) -> List[nn.Module]:
        """The stem and the first ``frozen_stages`` stages."""
        if self.frozen_stages < 0:
            return []
        return [self.conv1, self.bn1] + [
            getattr(self, name)
            for name in self.res_layers[: self.frozen_stages]
        ]

    def train(self, mode: bool = True) -> 'ResNet3dBase':
        """Set train mode, then apply ``frozen_stages`` and ``norm_eval``."""
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
