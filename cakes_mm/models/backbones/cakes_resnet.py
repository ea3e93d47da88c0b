"""CAKES ResNet: a 3D ResNet whose middle convs are channel-wise mixes of
sub-kernels (Yu et al., "CAKES: Channel-wise Automatic KErnel Shrinking for
Efficient 3D Networks").

The same code builds the layer-wise baselines of the paper's Table 3: C2D
(every channel ``1xkxk``), C3D (every channel ``kxkxk``) and P3D (a 2D conv
then a 1D conv). The one-shot search supernet over it is
:class:`~cakes_mm.models.backbones.CAKESResNetSupernet`.
"""

from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.logging import MMLogger

from ...deprecation import UNSET, renamed_argument
from ..arch import ArchSpec, resolve_arch
from ..layers import CAKESConv3d, P3DConv3d
from ..layers.kernel_shrinking import check_inflate_mode
from ..layers.sub_kernels import SUB_KERNEL_NAMES
from ..ops import OPS, RENAMED_OPS, OpSpec, from_old_keywords, parse_op
from .base import ResNet3dBase
from .cakes_resnet_deploy import DeployResNet
from .resnet2d_inflation import (
    StateDict,
    copy_into,
    inflate_into,
    inflate_like,
)

LAYERWISE_OP_SETS = {'c2d': ['1xkxk'], 'c3d': ['kxkxk']}

#: The layer-wise baselines' old ``arch`` names and their op types.
LAYERWISE_OPS = {'c2d': 'conv2d', 'c3d': 'conv3d', 'p3d': 'p3d'}

#: The op when none is given: the flagship CAKES_{1,2,3D} auto arch.
DEFAULT_OP = dict(type='cakes', arch='CAKES123D_P')


def arch_op(arch: ArchSpec) -> dict:
    """The op of an arch as the old ``arch=`` named it: the baselines
    ``'c2d'``, ``'c3d'``, ``'p3d'``, else ``dict(type='cakes', arch=...)``."""
    if isinstance(arch, str) and arch in LAYERWISE_OPS:
        return dict(type=LAYERWISE_OPS[arch])
    return dict(type='cakes', arch=arch)


def legacy_cakes_op(arch: object, op_set: object) -> dict:
    """The op the old ``arch=``/``op_set=`` keywords of a CAKESResNet
    stand for (``UNSET`` where not given)."""
    if isinstance(arch, str) and arch in LAYERWISE_OPS:
        return arch_op(arch)
    if arch is UNSET and op_set is not UNSET:
        return dict(type='cakes', op_set=op_set)
    if arch is UNSET:
        arch = DEFAULT_OP['arch']
    spec = dict(type='cakes', arch=arch)
    if op_set is not UNSET:
        spec['op_set'] = op_set
    return spec


class CAKESBottleneck(nn.Module):
    """A ResNet bottleneck whose middle conv is given.

    conv1 (1x1x1) → BN → ReLU → ``mid_conv`` → BN → ReLU → conv3 (1x1x1) → BN,
    plus the shortcut, then ReLU. The block's spatial stride is on the middle
    conv and on the 1x1x1 shortcut conv. A middle conv that carries its own
    norm (``includes_norm``, a searched layer) gets no BN after it, and
    conv3 takes whatever width the middle conv puts out (n·planes for the
    cost-priority supernet).

    Args:
        inplanes (int): Input channels.
        planes (int): Width of the middle conv; the output is 4 * planes.
        mid_conv (nn.Module): The planes→planes middle conv, stride included.
        stride (int): Spatial stride of the block. Defaults to 1.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN3d')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        mid_conv: nn.Module,
        stride: int = 1,
        norm_cfg: Dict = dict(type='BN3d'),
        act_cfg: Dict = dict(type='ReLU'),
    ) -> None:
        super().__init__()
        outplanes = planes * self.expansion
        self.conv1 = nn.Conv3d(inplanes, planes, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, planes)[1]
        self.conv2 = mid_conv
        self.bn2 = (
            nn.Identity()
            if getattr(mid_conv, 'includes_norm', False)
            else build_norm_layer(norm_cfg, planes)[1]
        )
        self.conv3 = nn.Conv3d(mid_conv.out_channels, outplanes, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, outplanes)[1]
        self.relu = build_activation_layer(act_cfg)
        self.downsample = None
        if stride != 1 or inplanes != outplanes:
            self.downsample = nn.Sequential(
                nn.Conv3d(
                    inplanes,
                    outplanes,
                    1,
                    stride=(1, stride, stride),
                    bias=False,
                ),
                build_norm_layer(norm_cfg, outplanes)[1],
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual bottleneck."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def filter_sources(choice: Dict[str, int]) -> torch.Tensor:
    """Which 2D filter each output channel of a CAKES conv inflates from.

    The groups' channels sit in the dict's key order, but the 2D filters are
    handed to the groups in the vocabulary's order (``kxkxk``, ``1xkxk``,
    ``kx1x1``, then the volumetric names), whatever the dict's order, as the
    CAKES authors' code does: the 3D group takes the first filters, then the
    2D group, then the 1D group.

    Args:
        choice (dict[str, int]): Channels per sub-kernel, in group order.

    Returns:
        torch.Tensor: For each output channel, the index of its 2D filter.
    """
    starts, start = {}, 0
    for name in sorted(choice, key=SUB_KERNEL_NAMES.index):
        starts[name] = start
        start += choice[name]
    return torch.cat(
        [
            torch.arange(starts[name], starts[name] + count)
            for name, count in choice.items()
        ]
    )


@MODELS.register_module()
class CAKESResNet(ResNet3dBase):
    """CAKES ResNet backbone: fixed architectures and the layer-wise
    baselines.

    Args:
        depth (int): ResNet depth, a key of ``arch_settings``. Defaults to 50.
        op (dict | str, optional): Every block's middle conv, an op of
            :mod:`cakes_mm.models.ops`:

            * ``dict(type='cakes', arch=...)``: the channel-wise sub-kernel
              choice of every block, ``arch`` being a list of dicts in the
              arch format (one per block), a path to a JSON file holding
              such a list, or a released architecture (e.g.
              ``'CAKES123D_P'``); within a block, the dict's key order is
              the order of the groups' output channels;
            * ``dict(type='cakes', op_set=[...])``: each block's width split
              evenly over the ops, the remainder to the first;
            * the layer-wise baselines: ``dict(type='conv2d')`` (C2D,
              ``1xkxk``), ``dict(type='conv3d')`` (C3D) and
              ``dict(type='p3d')`` (a ``1xkxk`` conv then a ``kx1x1`` one).

            Defaults to None: ``dict(type='cakes', arch='CAKES123D_P')``.
        in_channels (int): Input channels. Defaults to 3.
        base_channels (int): Width of the stem and of the first stage's middle
            convs. Defaults to 64.
        out_indices (Sequence[int]): Stages whose output is returned.
            Defaults to (3, ).
        spatial_strides (Sequence[int]): Spatial stride of each stage.
            Defaults to (1, 2, 2, 2).
        kernel_size (int): The full sub-kernel size k. Defaults to 3.
        pretrained (str, optional): A local checkpoint to initialise from.
            Defaults to None.
        pretrained2d (bool): Whether ``pretrained`` is a 2D ResNet to
            inflate (torchvision, mmpretrain or mmaction2 key layout).
            Defaults to True.
        inflate_1d (str): How 1D and volumetric sub-kernels reduce the 2D
            kernel's dropped spatial axes, ``'sum'`` (the authors' code;
            keeps the response to static, uniform input) or ``'mean'`` (the
            paper's wording). Defaults to ``'sum'``.
        frozen_stages (int): Stages to freeze (0 = the stem only, -1 = none).
            Defaults to -1.
        norm_eval (bool): Whether to keep BN layers in eval mode while
            training. Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN3d', requires_grad=True)``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
        zero_init_residual (bool): Whether to zero the last BN of each block
            when training from scratch. Defaults to True.
        deploy (bool): Whether to build the deploy form (see
            :meth:`switch_to_deploy`) instead of the trainable one, as
            mmpretrain's re-parameterised models do: a checkpoint written by
            ``tools/deployment/convert_to_deploy.py`` loads into it. It is
            for inference only. Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
        arch, op_set, kernel: Deprecated: ``arch='c2d' | 'c3d' | 'p3d'``
            is ``op=dict(type='conv2d' | 'conv3d' | 'p3d')``, any other
            ``arch``/``op_set`` is ``op=dict(type='cakes', ...)``,
            ``kernel`` is ``kernel_size``.
    """

    #: The op types it takes.
    OP_TYPES = ('cakes', 'conv2d', 'conv3d', 'p3d')

    arch_settings = {
        50: (CAKESBottleneck, (3, 4, 6, 3)),
        101: (CAKESBottleneck, (3, 4, 23, 3)),
        152: (CAKESBottleneck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int = 50,
        op: Optional[OpSpec] = None,
        in_channels: int = 3,
        base_channels: int = 64,
        out_indices: Sequence[int] = (3,),
        spatial_strides: Sequence[int] = (1, 2, 2, 2),
        kernel_size: int = 3,
        pretrained: Optional[str] = None,
        pretrained2d: bool = True,
        inflate_1d: str = 'sum',
        frozen_stages: int = -1,
        norm_eval: bool = False,
        norm_cfg: Dict = dict(type='BN3d', requires_grad=True),
        act_cfg: Dict = dict(type='ReLU'),
        zero_init_residual: bool = True,
        deploy: bool = False,
        init_cfg: Optional[Dict] = None,
        arch: ArchSpec = UNSET,
        op_set: Optional[Sequence[str]] = UNSET,
        kernel: int = UNSET,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if isinstance(op, (list, tuple)) or (
            isinstance(op, str) and op not in OPS and op not in RENAMED_OPS
        ):
            op, arch = None, op  # an old positional arch
        op = from_old_keywords(
            name,
            op,
            dict(arch=arch, op_set=op_set),
            legacy_cakes_op(arch, op_set),
        )
        kernel_size = renamed_argument(
            name, 'kernel', kernel, 'kernel_size', kernel_size
        )
        #: The op of the middle convs, as a dict.
        self.op = parse_op(
            DEFAULT_OP if op is None else op, name, CAKESResNet.OP_TYPES
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
        self.spatial_strides = tuple(spatial_strides)
        self.kernel_size = kernel_size
        self.inflate_1d = check_inflate_mode(inflate_1d)
        self.norm_cfg = norm_cfg
        self.deploy = deploy
        self.deploy_net = None

        self.block_names = [
            f'layer{i + 1}.{j}'
            for i, n in enumerate(self.stage_blocks)
            for j in range(n)
        ]
        self.block_widths = [
            base_channels * 2**i
            for i, n in enumerate(self.stage_blocks)
            for _ in range(n)
        ]
        layerwise = {op: arch for arch, op in LAYERWISE_OPS.items()}
        #: The layer-wise baseline's name (C2D, C3D, P3D), or None.
        self.layerwise = layerwise.get(self.op['type'])
        try:
            self.arch = self._resolve(
                self.op.get('arch', 'uniform'), self.op.get('op_set')
            )
        except (ValueError, FileNotFoundError) as error:
            raise type(error)(f'{name}: op={op!r}: {error}') from None

        self.build_stem(
            in_channels, base_channels, (1, 7, 7), (1, 2, 2), norm_cfg, act_cfg
        )
        choices = iter(self.arch or [None] * len(self.block_names))

        def make_block(
            inplanes: int, planes: int, i: int, j: int
        ) -> nn.Module:
            stride = self.spatial_strides[i] if j == 0 else 1
            mid = self.mid_conv(planes, (1, stride, stride), next(choices))
            return self.block(inplanes, planes, mid, stride, norm_cfg, act_cfg)

        self.build_stages(base_channels, make_block)
        if deploy:
            self.switch_to_deploy()

    def _resolve(
        self, arch: ArchSpec, op_set: Optional[Sequence[str]]
    ) -> Optional[List[Dict[str, int]]]:
        """The validated arch list, or None for the P3D baseline."""
        if self.layerwise == 'p3d':
            return None
        if self.layerwise is not None:
            arch, op_set = 'uniform', LAYERWISE_OP_SETS[self.layerwise]
        return resolve_arch(arch, self.block_widths, self.block_names, op_set)

    def mid_conv(
        self,
        planes: int,
        stride: Tuple[int, int, int],
        choice: Optional[Dict[str, int]],
    ) -> nn.Module:
        """The middle conv of one block.

        Args:
            planes (int): Its input and output width.
            stride (tuple[int, int, int]): Its (T, H, W) stride.
            choice (dict[str, int], optional): Its arch entry; None builds
                the P3D baseline's conv.

        Returns:
            nn.Module: The conv.
        """
        if choice is None:
            return P3DConv3d(planes, planes, stride, self.kernel_size)
        return CAKESConv3d(planes, choice, stride, self.kernel_size)

    def forward(
        self, x: torch.Tensor
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Backbone forward (:meth:`ResNet3dBase.forward`), through the
        deploy network once switched: (N, 2048, T, H/32, W/32) for the
        default ``out_indices``."""
        if self.deploy_net is not None:
            return self.deploy_net(x)
        return super().forward(x)

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        """Turn the trained network into its fastest equivalent, for
        inference: 2D convs over the frames with BN folded in (see
        :mod:`cakes_mm.models.backbones.cakes_resnet_deploy`). The 3D modules are dropped; the
        result is inference-only, and its state dict is what a model built
        with ``deploy=True`` loads.
        """
        if self.deploy_net is not None:
            return
        if not all(isinstance(m, CAKESConv3d) for m in self.mid_convs()):
            raise ValueError(
                'deploy mode covers CAKES convs (fixed archs, C2D, C3D); '
                f'this backbone has {type(self.mid_convs()[0]).__name__} '
                f'middle convs'
            )
        self.eval()
        # Outside inference mode, so that a switch at the first forward
        # under ``torch.inference_mode`` still gives ordinary parameters
        # (loadable, movable) rather than inference tensors.
        with torch.inference_mode(False):
            self.deploy_net = DeployResNet(self, self.out_indices)
        for name in ['conv1', 'bn1', 'relu', 'maxpool'] + self.res_layers:
            delattr(self, name)
        self.deploy = True

    def init_weights(self) -> None:
        """Initialise the trainable form; the deploy form takes its weights
        from a deploy checkpoint only."""
        if self.deploy_net is None:
            super().init_weights()

    def blocks(self) -> List[CAKESBottleneck]:
        """Every bottleneck, in block order."""
        return [
            block for name in self.res_layers for block in getattr(self, name)
        ]

    def mid_convs(self) -> List[nn.Module]:
        """The middle conv of every block, in block order."""
        return [block.conv2 for block in self.blocks()]

    def inflate_weights(self, logger: MMLogger) -> None:
        """Inflate ``self.pretrained``, a 2D ResNet, into this network.

        The stem, the 1x1 convs and the shortcuts are inflated to their 3D
        shape, BN is copied, and each middle conv inflates its own
        sub-kernels (:meth:`inflate_mid_conv`). One log line lists the 2D
        keys left unused and the 3D entries that kept their initialisation.
        """
        state2d = self.load_pretrained_2d(bottleneck=True)
        own = self.state_dict()
        used = set()
        try:
            for block, mid in zip(self.block_names, self.mid_convs()):
                key2d = f'{block}.conv2.weight'
                expected = (
                    getattr(mid, 'channels', mid.out_channels),
                    mid.in_channels,
                    self.kernel_size,
                    self.kernel_size,
                )
                if tuple(state2d[key2d].shape) != expected:
                    raise ValueError(
                        f'{key2d}: the checkpoint gives shape '
                        f'{tuple(state2d[key2d].shape)}, the model expects '
                        f'{expected}'
                    )
                used |= {key2d} | self.inflate_mid_conv(
                    block, mid, state2d, own
                )
            for key in own:
                if key in used or '.conv2.' in key or key not in state2d:
                    continue
                inflate_into(own, key, state2d[key])
                used.add(key)
        except ValueError as error:
            raise ValueError(f'{self.pretrained}: {error}') from None
        unused = sorted(set(state2d) - used)
        uninitialised = sorted(
            key
            for key in own
            if key not in used
            and '.conv2.' not in key
            and not key.endswith(
                ('num_batches_tracked', '.frozen', '.fixed_mask')
            )
        )
        logger.info(
            f'inflated {self.pretrained}: unused 2D keys: '
            f'{unused or "none"}; 3D entries left at their '
            f'initialisation: {uninitialised or "none"}'
        )

    def inflate_mid_conv(
        self, block: str, mid: nn.Module, state2d: StateDict, own: StateDict
    ) -> Set[str]:
        """Inflate one block's middle conv from the 2D ``conv2``.

        A CAKES conv whose groups are not in the vocabulary's order gets its
        filters as the authors' code hands them out
        (:func:`filter_sources`); ``bn2`` and conv3's inputs are permuted
        the same way, so the block starts as the 2D block.

        Args:
            block (str): The block's name, e.g. ``'layer1.0'``.
            mid (nn.Module): Its middle conv.
            state2d (dict): The torchvision-layout 2D state.
            own (dict): This network's state dict, filled in place.

        Returns:
            set[str]: The 2D keys it consumed besides ``conv2.weight``.
        """
        weight2d = state2d[f'{block}.conv2.weight']
        if not isinstance(mid, CAKESConv3d):
            mid.inflate_from_2d(weight2d, self.inflate_1d)
            return set()
        sources = filter_sources(mid.choice)
        mid.inflate_from_2d(weight2d[sources], self.inflate_1d)
        if torch.equal(sources, torch.arange(len(sources))):
            return set()
        used = set()
        for key in ('weight', 'bias', 'running_mean', 'running_var'):
            copy_into(
                own,
                f'{block}.bn2.{key}',
                state2d[f'{block}.bn2.{key}'][sources],
            )
            used.add(f'{block}.bn2.{key}')
        conv3 = state2d[f'{block}.conv3.weight'][:, sources]
        copy_into(
            own,
            f'{block}.conv3.weight',
            inflate_like(conv3, tuple(own[f'{block}.conv3.weight'].shape)),
        )
        return used | {f'{block}.conv3.weight'}

    def residual_norms(self) -> List[nn.Module]:
        """The last BN of every bottleneck."""
        return [block.bn3 for block in self.blocks()]

    def frozen_modules(self) -> List[nn.Module]:
        """Nothing to freeze in deploy mode: it is inference-only."""
        return [] if self.deploy_net is not None else super().frozen_modules()

    def train(self, mode: bool = True) -> 'CAKESResNet':
        """Set train mode, then apply ``frozen_stages`` and ``norm_eval``.

        Raises:
            RuntimeError: When asked to train in deploy mode.
        """
        if self.deploy_net is not None and mode:
            raise RuntimeError(
                'a CAKESResNet in deploy mode is for '
                'inference only and cannot train'
            )
        return super().train(mode)
