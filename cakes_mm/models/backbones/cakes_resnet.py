"""CAKES ResNet: a 3D ResNet whose middle convs are channel-wise mixes of
sub-kernels (Yu et al., "CAKES: Channel-wise Automatic KErnel Shrinking for
Efficient 3D Networks").

The same code builds the layer-wise baselines of the paper's Table 3: C2D
(every channel ``1xkxk``), C3D (every channel ``kxkxk``) and P3D (a 2D conv
then a 1D conv), and the one-shot search supernet (``search_mode``).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.logging import MMLogger

from mmaction.registry import MODELS
from ..arch import Arch, ArchSpec, resolve_arch
from ..cakes_conv import CAKESConv3d
from ..deploy import DeployResNet
from ..inflation import check_inflate_mode, copy_into, inflate_like
from ..p3d_conv import P3DConv3d
from ..resnet2d_checkpoint import load_2d_resnet, resnet_layout
from ..search_conv import CAKESSearchConv3d
from ..sub_kernels import check_op_set, default_cost_weights
from .base import ResNet3dBase

LAYERWISE_OP_SETS = {'c2d': ['1xkxk'], 'c3d': ['kxkxk']}


class CAKESBottleneck(nn.Module):
    """A ResNet bottleneck whose middle conv is given.

    conv1 (1x1x1) → BN → ReLU → ``mid_conv`` → BN → ReLU → conv3 (1x1x1) → BN,
    plus the shortcut, then ReLU. The block's spatial stride is on the middle
    conv and on the 1x1x1 shortcut conv. A middle conv that carries its own
    norm (``includes_norm``, the search supernet) gets no BN after it, and
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

    def __init__(self,
                 inplanes: int,
                 planes: int,
                 mid_conv: nn.Module,
                 stride: int = 1,
                 norm_cfg: Dict = dict(type='BN3d'),
                 act_cfg: Dict = dict(type='ReLU')) -> None:
        super().__init__()
        outplanes = planes * self.expansion
        self.conv1 = nn.Conv3d(inplanes, planes, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, planes)[1]
        self.conv2 = mid_conv
        self.bn2 = (nn.Identity() if getattr(mid_conv, 'includes_norm', False)
                    else build_norm_layer(norm_cfg, planes)[1])
        self.conv3 = nn.Conv3d(mid_conv.out_channels, outplanes, 1,
                               bias=False)
        self.bn3 = build_norm_layer(norm_cfg, outplanes)[1]
        self.relu = build_activation_layer(act_cfg)
        self.downsample = None
        if stride != 1 or inplanes != outplanes:
            self.downsample = nn.Sequential(
                nn.Conv3d(inplanes, outplanes, 1, stride=(1, stride, stride),
                          bias=False),
                build_norm_layer(norm_cfg, outplanes)[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual bottleneck."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


@MODELS.register_module()
class CAKESResNet(ResNet3dBase):
    """CAKES ResNet backbone.

    Args:
        depth (int): ResNet depth, a key of ``arch_settings``. Defaults to 50.
        arch (str | list[dict]): The channel-wise sub-kernel choice of every
            block's middle conv. One of:

            * ``'uniform'``, with ``op_set``: each block's width split evenly
              over the ops, the remainder to the first;
            * a list of dicts in the arch format (one per block);
            * a path to a JSON file holding such a list;
            * a released architecture, e.g. ``'CAKES123D_P'``;
            * a layer-wise baseline: ``'c2d'``, ``'c3d'`` or ``'p3d'``.

            Defaults to ``'CAKES123D_P'``. Ignored when ``search_mode`` is
            set: the supernet holds every op of ``op_set`` for every channel.
        op_set (list[str], optional): Sub-kernel names for
            ``arch='uniform'`` and for the search. Defaults to None.
        search_mode (str, optional): ``'performance'`` or ``'cost'`` builds
            the one-shot search supernet (see :class:`CAKESSearchConv3d`);
            None builds the fixed network of ``arch``. Defaults to None.
        derive (str): How the supernet derives its architecture, ``'argmax'``
            per channel (paper Eq. 12) or ``'topk'`` per layer (the public
            code). Defaults to ``'argmax'``.
        cost_lambda (float): λ of the cost-priority lasso. Defaults to 1e-4.
        cost_beta (dict[str, float], optional): β per op of the lasso.
            Defaults to kernel volume / 39 (3D 9/13, 2D 3/13, 1D 1/13).
        search_seed (int): Seed of the generator that draws the paths in
            performance mode (the search hook reseeds it from the run's
            seed). Defaults to 0.
        in_channels (int): Input channels. Defaults to 3.
        base_channels (int): Width of the stem and of the first stage's middle
            convs. Defaults to 64.
        out_indices (Sequence[int]): Stages whose output is returned.
            Defaults to (3, ).
        spatial_strides (Sequence[int]): Spatial stride of each stage.
            Defaults to (1, 2, 2, 2).
        kernel (int): The full sub-kernel size k. Defaults to 3.
        pretrained (str, optional): A local checkpoint to initialise from.
            Defaults to None.
        pretrained2d (bool): Whether ``pretrained`` is a 2D ResNet to
            inflate (torchvision, mmpretrain or mmaction2 key layout).
            Defaults to True.
        inflate_1d (str): How 1D and volumetric sub-kernels reduce the 2D
            kernel's dropped spatial axes, ``'sum'`` (the public code; keeps
            the response to static, uniform input) or ``'mean'`` (the paper's
            wording). Defaults to ``'sum'``.
        frozen_stages (int): Stages to freeze (0 = the stem only, -1 = none).
            Defaults to -1.
        norm_eval (bool): Whether to keep BN layers in eval mode while
            training. Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN3d', requires_grad=True)``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
        zero_init_residual (bool): Whether to zero the last BN of each block
            when training from scratch. Defaults to True.
        deploy (bool): Whether to switch to deploy mode (see
            :meth:`switch_to_deploy`) at the first forward in eval mode, that
            is after any checkpoint has been loaded. Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    arch_settings = {
        50: (CAKESBottleneck, (3, 4, 6, 3)),
        101: (CAKESBottleneck, (3, 4, 23, 3)),
        152: (CAKESBottleneck, (3, 8, 36, 3)),
    }

    def __init__(self,
                 depth: int = 50,
                 arch: ArchSpec = 'CAKES123D_P',
                 op_set: Optional[Sequence[str]] = None,
                 search_mode: Optional[str] = None,
                 derive: str = 'argmax',
                 cost_lambda: float = 1e-4,
                 cost_beta: Optional[Dict[str, float]] = None,
                 search_seed: int = 0,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 out_indices: Sequence[int] = (3, ),
                 spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 kernel: int = 3,
                 pretrained: Optional[str] = None,
                 pretrained2d: bool = True,
                 inflate_1d: str = 'sum',
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: Dict = dict(type='BN3d', requires_grad=True),
                 act_cfg: Dict = dict(type='ReLU'),
                 zero_init_residual: bool = True,
                 deploy: bool = False,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.set_common_options(depth, out_indices, pretrained, pretrained2d,
                                frozen_stages, norm_eval, zero_init_residual)
        self.spatial_strides = tuple(spatial_strides)
        self.kernel = kernel
        self.inflate_1d = check_inflate_mode(inflate_1d)
        self.deploy = deploy
        self.deploy_net = None

        self.block_names = [f'layer{i + 1}.{j}'
                            for i, n in enumerate(self.stage_blocks)
                            for j in range(n)]
        self.block_widths = [base_channels * 2**i
                             for i, n in enumerate(self.stage_blocks)
                             for _ in range(n)]
        self.search_mode = search_mode
        self.derive = derive
        self.cost_lambda = cost_lambda
        if search_mode is not None:
            self.op_set = check_op_set(op_set or [], min_ops=2)
            self.cost_beta = dict(default_cost_weights(self.op_set),
                                  **(cost_beta or {}))
            self.path_generator = torch.Generator().manual_seed(search_seed)
            self.layerwise, self.arch = None, None
        else:
            self.layerwise = arch if arch in ('c2d', 'c3d', 'p3d') else None
            self.arch = self._resolve(arch, op_set)

        self.conv1 = nn.Conv3d(in_channels, base_channels, (1, 7, 7),
                               stride=(1, 2, 2), padding=(0, 3, 3),
                               bias=False)
        self.bn1 = build_norm_layer(norm_cfg, base_channels)[1]
        self.relu = build_activation_layer(act_cfg)
        self.maxpool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2),
                                    padding=(0, 1, 1))
        inplanes = base_channels
        choices = iter(self.arch or [None] * len(self.block_names))
        self.res_layers = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            blocks = []
            for j in range(num_blocks):
                stride = self.spatial_strides[i] if j == 0 else 1
                mid = self._mid_conv(planes, stride, next(choices))
                blocks.append(self.block(inplanes, planes, mid, stride,
                                         norm_cfg, act_cfg))
                inplanes = planes * self.block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.res_layers.append(name)
        self.feat_dim = inplanes

    def _resolve(self, arch: ArchSpec,
                 op_set: Optional[Sequence[str]]) -> Optional[Arch]:
        """The validated arch list, or None for the P3D baseline."""
        if self.layerwise == 'p3d':
            return None
        if self.layerwise is not None:
            arch, op_set = 'uniform', LAYERWISE_OP_SETS[self.layerwise]
        return resolve_arch(arch, self.block_widths, self.block_names, op_set)

    def _mid_conv(self, planes: int, stride: int,
                  choice: Optional[Dict[str, int]]) -> nn.Module:
        """The middle conv of one block."""
        if self.search_mode is not None:
            return CAKESSearchConv3d(planes, planes, self.op_set,
                                     self.search_mode, stride, self.kernel,
                                     self.derive, self.path_generator)
        if choice is None:
            return P3DConv3d(planes, planes, stride, self.kernel)
        return CAKESConv3d(planes, choice, stride, self.kernel)

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor,
                                                Tuple[torch.Tensor, ...]]:
        """Backbone forward.

        Args:
            x (torch.Tensor): A clip of shape (N, C, T, H, W).

        Returns:
            torch.Tensor | tuple[torch.Tensor]: (N, 2048, T, H/32, W/32) for
            the default ``out_indices``, else one tensor per index.
        """
        if self.deploy and not self.training and self.deploy_net is None:
            self.switch_to_deploy()
        if self.deploy_net is not None:
            return self.deploy_net(x)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.forward_stages(x)

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        """Turn the trained network into its fastest equivalent, for
        inference: 2D convs over the frames with BN folded in (see
        :mod:`cakes_mm.models.deploy`). The 3D modules are dropped; the
        result is inference-only.
        """
        if self.deploy_net is not None:
            return
        if self.search_mode is not None or self.layerwise == 'p3d':
            raise ValueError(
                'deploy mode covers CAKES convs (fixed archs, C2D, C3D); '
                f'this backbone has {"a search supernet" if self.search_mode else "P3D middle convs"}')
        self.eval()
        # Outside inference mode, so that a switch at the first forward
        # under ``torch.inference_mode`` still gives ordinary parameters
        # (loadable, movable) rather than inference tensors.
        with torch.inference_mode(False):
            self.deploy_net = DeployResNet(self, self.out_indices)
        for name in ['conv1', 'bn1', 'relu', 'maxpool'] + self.res_layers:
            delattr(self, name)

    def blocks(self) -> List[CAKESBottleneck]:
        """Every bottleneck, in block order."""
        return [block for name in self.res_layers
                for block in getattr(self, name)]

    def mid_convs(self) -> List[nn.Module]:
        """The middle conv of every block, in block order."""
        return [block.conv2 for block in self.blocks()]

    def search_convs(self) -> List[CAKESSearchConv3d]:
        """The searchable layers (empty unless ``search_mode`` is set)."""
        return [m for m in self.mid_convs()
                if isinstance(m, CAKESSearchConv3d)]

    @property
    def current_choice(self) -> Arch:
        """The arch the supernet stands for now: fixed, or derived."""
        return [conv.current_choice for conv in self.search_convs()]

    def dump_chosen(self) -> Arch:
        """The current choice as a JSON-ready arch list of plain ints."""
        if not self.search_convs():
            raise ValueError('dump_chosen() needs a search supernet; this '
                             'CAKESResNet was built without search_mode')
        return self.current_choice

    def fix_chosen(self) -> None:
        """Freeze every searchable layer on its derived choice."""
        for conv in self.search_convs():
            conv.fix_chosen()

    @property
    def is_frozen(self) -> bool:
        """Whether the supernet is frozen on a fixed choice."""
        convs = self.search_convs()
        return bool(convs) and all(bool(conv.frozen) for conv in convs)

    def alpha_loss(self) -> torch.Tensor:
        """The cost-priority lasso λ·Σ_op β_op·Σ_c |γ_op,c| over all layers.

        Returns:
            torch.Tensor: A scalar; zero outside cost-priority search.
        """
        total = self.conv1.weight.new_zeros(())
        if self.search_mode != 'cost':
            return total
        beta = torch.tensor([self.cost_beta[op] for op in self.op_set],
                            device=total.device)
        for conv in self.search_convs():
            gamma = conv.search_bn.weight.view(len(self.op_set), -1)
            total = total + (beta * gamma.abs().sum(dim=1)).sum()
        return self.cost_lambda * total

    def inflate_weights(self, logger: MMLogger) -> None:
        """Inflate ``self.pretrained``, a 2D ResNet, into this network.

        The stem, the 1x1 convs and the shortcuts are inflated to their 3D
        shape, BN is copied, and each middle conv inflates its own sub-kernels
        (see :meth:`CAKESConv3d.inflate_from_2d`). One log line lists the 2D
        keys left unused and the 3D entries that kept their initialisation.
        """
        state2d = load_2d_resnet(self.pretrained)
        stage_blocks, bottleneck = resnet_layout(state2d)
        if stage_blocks != self.stage_blocks or not bottleneck:
            raise ValueError(
                f'{self.pretrained}: a 2D ResNet with stage blocks '
                f'{stage_blocks} ({"bottleneck" if bottleneck else "basic"} '
                f'blocks) cannot inflate a CAKESResNet-{self.depth} with '
                f'stage blocks {self.stage_blocks} (bottleneck blocks)')
        own = self.state_dict()
        used = set()
        try:
            for block, mid in zip(self.block_names, self.mid_convs()):
                used |= self._inflate_mid_conv(block, mid, state2d)
            for key, value in own.items():
                if key in used or '.conv2.' in key or key not in state2d:
                    continue
                source = state2d[key]
                if value.dim() == 5 and source.dim() == 4:
                    source = inflate_like(source, tuple(value.shape))
                copy_into(own, key, source)
                used.add(key)
        except ValueError as error:
            raise ValueError(f'{self.pretrained}: {error}') from None
        unused = sorted(set(state2d) - used)
        uninitialised = sorted(
            key for key in own
            if key not in used and '.conv2.' not in key
            and not key.endswith(('num_batches_tracked', '.frozen',
                                  '.fixed_mask')))
        logger.info(f'inflated {self.pretrained}: unused 2D keys: '
                    f'{unused or "none"}; 3D entries left at their '
                    f'initialisation: {uninitialised or "none"}')

    def _inflate_mid_conv(self, block: str, mid: nn.Module,
                          state2d: Dict[str, torch.Tensor]) -> set:
        """Inflate one block's middle conv; return the keys it consumed.

        A search supernet also takes the 2D ``bn2`` (repeated over its ops)
        and, in cost mode, conv3's input weights repeated n times.
        """
        key2d = f'{block}.conv2.weight'
        expected = (mid.channels if isinstance(mid, CAKESSearchConv3d) else
                    mid.out_channels, mid.in_channels, self.kernel,
                    self.kernel)
        if tuple(state2d[key2d].shape) != expected:
            raise ValueError(f'{key2d}: the checkpoint gives shape '
                             f'{tuple(state2d[key2d].shape)}, the model '
                             f'expects {expected}')
        mid.inflate_from_2d(state2d[key2d], self.inflate_1d)
        used = {key2d}
        if isinstance(mid, CAKESSearchConv3d):
            norm_keys = ('weight', 'bias', 'running_mean', 'running_var')
            mid.load_2d_norm({k: state2d[f'{block}.bn2.{k}']
                              for k in norm_keys})
            used |= {f'{block}.bn2.{k}' for k in norm_keys}
            if self.search_mode == 'cost':
                conv3 = f'{block}.conv3.weight'
                repeated = state2d[conv3].repeat(1, len(self.op_set), 1, 1)
                copy_into(self.state_dict(), conv3,
                          inflate_like(repeated, (repeated.shape[0],
                                                  repeated.shape[1], 1, 1,
                                                  1)))
                used.add(conv3)
        return used

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
            raise RuntimeError('a CAKESResNet in deploy mode is for '
                               'inference only and cannot train')
        return super().train(mode)
