"""PmSCn ResNet: a 3D ResNet-34 (or -18) whose 3x3x3 convs are replaced by
PmSCn units (Gonda et al., "Parallel Separable 3D Convolution for Video and
Volumetric Data Understanding"), and the plain 3D ResNet it is compared with.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.logging import MMLogger

from ...deprecation import UNSET
from ..layers.pmscn import PmSCn, switch_pmscn_to_deploy
from ..ops import OpSpec, from_old_keywords, parse_op
from .base import ResNet3dBase
from .resnet2d_inflation import StateDict, inflate_into

Stride3 = Tuple[int, int, int]


def legacy_pmscn_op(pmscn: object) -> Optional[Dict]:
    """The op the old ``pmscn=`` keyword stands for: None is the 3D
    baseline, ``dict(m=..., n=...)`` PmSCn units."""
    if pmscn is UNSET:
        return None
    if pmscn is None:
        return dict(type='conv3d')
    if isinstance(pmscn, dict):
        return dict(type='pmscn', **pmscn)
    raise ValueError(
        f'PmSCnResNet: pmscn must be None or dict(m=..., n=...) (deprecated; '
        f"use op=dict(type='pmscn', m=..., n=...)), got {pmscn!r}"
    )


class PmSCnBasicBlock(nn.Module):
    """A ResNet basic block with plain 3D convs or PmSCn units.

    The block's two 3x3x3 convs become ``convs``, each followed by one of
    ``norms``; ReLU follows every norm but the last, which goes into the
    residual sum:

    * ``pmscn=None``: two 3x3x3 convs (the 3D baseline);
    * n = 1: two PmSCn units, one per 3D conv;
    * n ≥ 2: one PmSCn unit for the pair (``replaces=2``).

    The shortcut is a 1x1x1 conv with the block's stride, then BN, when the
    stride or the width changes.

    Args:
        inplanes (int): Input channels.
        planes (int): Output channels.
        stride (tuple[int, int, int]): (T, H, W) stride of the block.
            Defaults to (1, 1, 1).
        pmscn (dict, optional): ``dict(m=..., n=...)``, or None for 3D
            convs. Defaults to None.
        kernel_size (int): The conv kernel size k. Defaults to 3.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN3d')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: Stride3 = (1, 1, 1),
        pmscn: Optional[Dict] = None,
        kernel_size: int = 3,
        norm_cfg: Dict = dict(type='BN3d'),
        act_cfg: Dict = dict(type='ReLU'),
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            self._make_convs(
                inplanes,
                planes,
                tuple(stride),
                pmscn,
                kernel_size,
                norm_cfg,
                act_cfg,
            )
        )
        self.norms = nn.ModuleList(
            build_norm_layer(norm_cfg, planes)[1] for _ in self.convs
        )
        self.relu = build_activation_layer(act_cfg)
        self.downsample = None
        if tuple(stride) != (1, 1, 1) or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv3d(inplanes, planes, 1, stride=stride, bias=False),
                build_norm_layer(norm_cfg, planes)[1],
            )

    @staticmethod
    def _make_convs(
        inplanes: int,
        planes: int,
        stride: Stride3,
        pmscn: Optional[Dict],
        kernel_size: int,
        norm_cfg: Dict,
        act_cfg: Dict,
    ) -> List[nn.Module]:
        """The block's convs, in order (see the class docstring)."""
        if pmscn is None:
            return [
                nn.Conv3d(
                    c_in,
                    planes,
                    kernel_size,
                    stride=s,
                    padding=kernel_size // 2,
                    bias=False,
                )
                for c_in, s in ((inplanes, stride), (planes, 1))
            ]
        unit = dict(
            kernel_size=kernel_size,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            **pmscn,
        )
        if pmscn['n'] == 1:
            return [
                PmSCn(inplanes, planes, stride, **unit),
                PmSCn(planes, planes, 1, **unit),
            ]
        return [PmSCn(inplanes, planes, stride, replaces=2, **unit)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual basic block."""
        identity = x if self.downsample is None else self.downsample(x)
        out = x
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            residual = identity if i == len(self.convs) - 1 else None
            if self._ends_unit(conv, norm):
                out = conv(out, residual=residual, relu=True)
                continue
            out = norm(conv(out))
            if residual is not None:
                out = out + residual
            out = self.relu(out)
        return out

    def _ends_unit(self, conv: nn.Module, norm: nn.Module) -> bool:
        """Whether the residual add and ReLU after ``conv`` can run inside
        it: a PmSCn unit whose norm was folded away (deploy form), followed
        by a plain ReLU."""
        return (
            isinstance(conv, PmSCn)
            and isinstance(norm, nn.Identity)
            and type(self.relu) is nn.ReLU
        )

    def fold_unit_norms(self) -> int:
        """Fold the norm after each PmSCn unit into the unit's 1D convs
        (:meth:`~cakes_mm.models.layers.pmscn.PmSCn.absorb_norm`) and drop
        it (deploy form).

        Returns:
            int: How many norms were folded.
        """
        folded = 0
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if isinstance(conv, PmSCn) and conv.absorb_norm(norm):
                self.norms[i] = nn.Identity()
                folded += 1
        return folded


@MODELS.register_module()
class PmSCnResNet(ResNet3dBase):
    """PmSCn ResNet backbone, and the plain 3D ResNet baseline.

    The stem is a (3,7,7) 3D conv with stride (1,2,2) → BN → ReLU, then
    optionally a (1,3,3) max-pool with stride (1,2,2); the stages have
    spatial strides (1,2,2,2) and temporal strides (1,2,2,2). These defaults
    are mmaction2's R(2+1)D-34 recipe. The stem is never replaced: the paper
    replaces 3x3x3 convs only.

    For the paper's 64x64 inputs the UCF101 configs set ``with_pool1=False``:
    with the max-pool, 64x64 would end as a 2x2 map, and without it it ends
    as 4x4, the same 16x reduction as R(2+1)D's own 112x112 network (which
    has no max-pool either). 64 frames of 64x64 give (N, 512, 8, 4, 4).

    Args:
        depth (int): 18 or 34, a key of ``arch_settings``. Defaults to 34.
        op (dict | str, optional): ``dict(type='pmscn', m=..., n=...)``
            builds every basic block from PmSCn units (n = 1: one unit per
            3D conv; n ≥ 2: one unit for the block's pair);
            ``dict(type='conv3d')`` builds 3x3x3 convs, the 3D ResNet
            baseline. Defaults to None (``conv3d``).
        in_channels (int): Input channels. Defaults to 3.
        base_channels (int): Width of the stem and the first stage; stage i
            is ``base_channels * 2**i`` wide. Defaults to 64.
        out_indices (Sequence[int]): Stages whose output is returned.
            Defaults to (3, ).
        conv1_kernel (Sequence[int]): (T, H, W) kernel of the stem conv.
            Defaults to (3, 7, 7).
        conv1_stride (Sequence[int]): (T, H, W) stride of the stem conv.
            Defaults to (1, 2, 2).
        with_pool1 (bool): Whether the stem ends with a (1,3,3) max-pool of
            stride (1,2,2). Defaults to True.
        spatial_strides (Sequence[int]): Spatial stride of each stage.
            Defaults to (1, 2, 2, 2).
        temporal_strides (Sequence[int]): Temporal stride of each stage.
            Defaults to (1, 2, 2, 2).
        kernel_size (int): The size k of the replaced k x k x k convs, and
            d of Eq. 5. Defaults to 3.
        pretrained (str, optional): A local checkpoint to initialise from.
            The paper trains from scratch. Defaults to None.
        pretrained2d (bool): Whether ``pretrained`` is a 2D ResNet of the
            same depth to inflate (torchvision, mmpretrain or mmaction2 key
            layout); else a checkpoint of this backbone. Defaults to True.
        frozen_stages (int): Stages to freeze (0 = the stem only, -1 =
            none). Defaults to -1.
        norm_eval (bool): Whether to keep BN layers in eval mode while
            training. Defaults to False.
        norm_cfg (dict): Norm layer config, also inside the PmSCn streams.
            Defaults to ``dict(type='BN3d', requires_grad=True)``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
        zero_init_residual (bool): Whether to zero each block's last norm
            when training from scratch. Defaults to True.
        deploy (bool): Build the deploy form (:meth:`switch_to_deploy`),
            which a deploy checkpoint loads into. Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
        pmscn (dict, optional): Deprecated: ``pmscn=dict(m=..., n=...)`` is
            ``op=dict(type='pmscn', m=..., n=...)``, ``pmscn=None``
            ``op=dict(type='conv3d')``.
    """

    #: The op types it takes.
    OP_TYPES = ('conv3d', 'pmscn')

    arch_settings = {
        18: (PmSCnBasicBlock, (2, 2, 2, 2)),
        34: (PmSCnBasicBlock, (3, 4, 6, 3)),
    }

    def __init__(
        self,
        depth: int = 34,
        op: Optional[OpSpec] = None,
        in_channels: int = 3,
        base_channels: int = 64,
        out_indices: Sequence[int] = (3,),
        conv1_kernel: Sequence[int] = (3, 7, 7),
        conv1_stride: Sequence[int] = (1, 2, 2),
        with_pool1: bool = True,
        spatial_strides: Sequence[int] = (1, 2, 2, 2),
        temporal_strides: Sequence[int] = (1, 2, 2, 2),
        kernel_size: int = 3,
        pretrained: Optional[str] = None,
        pretrained2d: bool = True,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        norm_cfg: Dict = dict(type='BN3d', requires_grad=True),
        act_cfg: Dict = dict(type='ReLU'),
        zero_init_residual: bool = True,
        deploy: bool = False,
        init_cfg: Optional[Dict] = None,
        pmscn: Optional[Dict] = UNSET,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if isinstance(op, dict) and 'type' not in op and pmscn is UNSET:
            op, pmscn = None, op  # an old positional pmscn=dict(m=, n=)
        op = from_old_keywords(
            name, op, dict(pmscn=pmscn), legacy_pmscn_op(pmscn)
        )
        #: The op of the 3x3x3 convs, as a dict.
        self.op = parse_op(
            dict(type='conv3d') if op is None else op, name, self.OP_TYPES
        )
        self.set_common_options(
            depth,
            out_indices,
            pretrained,
            pretrained2d,
            frozen_stages,
            norm_eval,
            zero_init_residual,
        )
        if len(spatial_strides) != 4 or len(temporal_strides) != 4:
            raise ValueError(
                'spatial_strides and temporal_strides need one '
                'stride per stage (4), got '
                f'{spatial_strides} and {temporal_strides}'
            )
        #: ``dict(m=..., n=...)`` for PmSCn units, None for 3D convs.
        self.pmscn = (
            dict(m=self.op['m'], n=self.op['n'])
            if self.op['type'] == 'pmscn'
            else None
        )
        self.with_pool1 = with_pool1

        self.build_stem(
            in_channels,
            base_channels,
            conv1_kernel,
            conv1_stride,
            norm_cfg,
            act_cfg,
        )

        def make_block(
            inplanes: int, planes: int, i: int, j: int
        ) -> nn.Module:
            stride = (
                (temporal_strides[i], spatial_strides[i], spatial_strides[i])
                if j == 0
                else (1, 1, 1)
            )
            return self.block(
                inplanes,
                planes,
                stride,
                self.pmscn,
                kernel_size,
                norm_cfg,
                act_cfg,
            )

        self.build_stages(base_channels, make_block)
        self.deploy = False
        if deploy:
            self.switch_to_deploy()

    def switch_to_deploy(self) -> None:
        """Fold the batch norms inside the PmSCn units into their 2D convs
        (:func:`~cakes_mm.models.layers.pmscn.switch_pmscn_to_deploy`), and
        each block's norm after a unit into the unit's 1D convs
        (:meth:`PmSCnBasicBlock.fold_unit_norms`); the eval-mode output is
        unchanged. The stem's and the shortcuts' norms stay, as in the 3D
        network."""
        if not self.deploy:
            switch_pmscn_to_deploy(self)
            for block in self.blocks().values():
                block.fold_unit_norms()
            self.deploy = True

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """``conv1`` → ``bn1`` → ``relu``, then ``maxpool`` if
        ``with_pool1``."""
        x = self.relu(self.bn1(self.conv1(x)))
        return self.maxpool(x) if self.with_pool1 else x

    def blocks(self) -> Dict[str, PmSCnBasicBlock]:
        """Every basic block by its prefix, e.g. ``'layer1.0'``."""
        return {
            f'{name}.{j}': block
            for name in self.res_layers
            for j, block in enumerate(getattr(self, name))
        }

    def inflation_sources(self) -> Dict[str, str]:
        """Own state keys filled one to one from a torchvision-layout 2D
        ResNet, mapped to their 2D keys.

        The stem, the shortcuts and the block norms map by position: with
        two convs per block ``norms.0/1`` come from ``bn1/bn2``; with one
        unit per block its norm, the block output's, comes from ``bn2``. The
        3x3x3 convs of the 3D baseline come from ``conv1/conv2``.
        """
        sources = {
            key: key
            for key in self.state_dict()
            if key.split('.')[0] in ('conv1', 'bn1') or '.downsample.' in key
        }
        for prefix, block in self.blocks().items():
            # The last norm is always the block output's, bn2.
            first_bn = 3 - len(block.norms)
            for i, (conv, norm) in enumerate(zip(block.convs, block.norms)):
                for name in norm.state_dict():
                    sources[f'{prefix}.norms.{i}.{name}'] = (
                        f'{prefix}.bn{first_bn + i}.{name}'
                    )
                if isinstance(conv, nn.Conv3d):
                    sources[f'{prefix}.convs.{i}.weight'] = (
                        f'{prefix}.conv{i + 1}.weight'
                    )
        return sources

    def _copy_leading_filters(
        self, state2d: StateDict
    ) -> Dict[str, Tuple[str, int, int]]:
        """Initialise the spatial (``1xkxk``) first conv of stream 1 of
        every PmSCn unit from the leading filters of the 2D conv it stands
        for (``conv1`` for a block's first unit, ``conv2`` for its second),
        where the input width and kernel size match.

        Returns:
            dict[str, tuple[str, int, int]]: Each filled entry, mapped to
            (its 2D key, filters copied, filters it has).
        """
        filled = {}
        for prefix, block in self.blocks().items():
            for i, unit in enumerate(block.convs):
                if not isinstance(unit, PmSCn):
                    continue
                weight = unit.streams[0].convs2d[0].weight
                key2d = f'{prefix}.conv{i + 1}.weight'
                source = state2d.get(key2d)
                if source is None or tuple(source.shape[1:]) != (
                    weight.shape[1],
                    *weight.shape[3:],
                ):
                    continue
                count = min(weight.shape[0], source.shape[0])
                with torch.no_grad():
                    weight[:count].copy_(source[:count].unsqueeze(2))
                filled[f'{prefix}.convs.{i}.streams.0.convs2d.0.weight'] = (
                    key2d,
                    count,
                    weight.shape[0],
                )
        return filled

    def residual_norms(self) -> List[nn.Module]:
        """The norm that feeds each block's residual sum."""
        return [block.norms[-1] for block in self.blocks().values()]

    def inflate_weights(self, logger: MMLogger) -> None:
        """Inflate ``self.pretrained``, a 2D ResNet of the same depth.

        What maps one to one (:meth:`inflation_sources`) is inflated or
        copied: kernels are repeated along T and divided by their temporal
        size, BN is copied. Each unit's spatial 2D conv takes the 2D
        kernel's leading filters (:meth:`_copy_leading_filters`). Three log
        lines list what was initialised, what kept its initialisation and
        which 2D keys went unused.
        """
        state2d = self.load_pretrained_2d(bottleneck=False)
        own = self.state_dict()
        filled = {}
        for key, key2d in self.inflation_sources().items():
            if key2d in state2d:
                inflate_into(own, key, state2d[key2d])
                filled[key] = key2d
        leading = self._copy_leading_filters(state2d)
        filled.update((key, key2d) for key, (key2d, _, _) in leading.items())
        kept = sorted(
            key
            for key in own
            if key not in filled and not key.endswith('num_batches_tracked')
        )
        partial = [
            f'{key} ({count} of {total} filters)'
            for key, (_, count, total) in leading.items()
        ]
        logger.info(
            f'inflated {self.pretrained} into PmSCnResNet-{self.depth}: '
            f'{len(filled) - len(leading)} entries one to one (stem, '
            f'shortcuts, block norms, 3x3x3 convs); leading 2D filters in: '
            f'{partial or "none"}'
        )
        logger.info(f'entries left at their initialisation: {kept or "none"}')
        logger.info(
            f'unused 2D keys: '
            f'{sorted(set(state2d) - set(filled.values())) or "none"}'
        )
