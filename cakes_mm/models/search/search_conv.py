"""The CAKES supernet conv: every op holds every output channel.

:class:`CAKESSearchConv3d` replaces a k x k x k conv *and the norm after
it*. It has three states, in mmrazor's vocabulary:

* **search, training**: the active (op, channel) pairs are drawn each call.
  In ``'performance'`` mode every output channel draws one op uniformly
  (paper §3.4) and only the drawn filters are computed. In ``'cost'`` mode
  every op runs on every channel; the n·C_out normalised outputs are either
  summed per channel (``cost_output='sum'``, a drop-in for any network) or
  concatenated (``'concat'``, the paper's ResNet form, where the block's
  next 1x1x1 conv takes all n·C_out).
* **search, eval**: the active pairs are the currently derived architecture
  (:meth:`derived_mask`), never a random path.
* **frozen** (:meth:`fix_chosen`): the derived pairs are fixed in a buffer
  (so they survive a checkpoint); only they are computed, and
  :meth:`unchosen_rows` names the rows an optimizer must leave alone.

Each (op, channel) pair has its own norm scale γ in ``search_bn`` (index
``op * C_out + channel``), and its path weight is α = |γ|. The norm is a
batch norm or an instance norm, as the norm it replaces; its name,
``search_bn``, is kept from the first release so that search checkpoints
still load.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from ...deprecation import UNSET
from ..layers.cakes_conv import place_channels, placement
from ..layers.conv_plan import box_conv, box_size, pad_to_box
from ..layers.kernel_shrinking import inflate_kernel, shrink_kernel
from ..layers.sub_kernels import IntOr3, SubKernelConv3d, check_op_set
from ..utils import Link
from .derive import DERIVE_MODES, check_choice, derive_mask, mask_to_choice
from .paths import drawn_filters, host_to_device, indices_to, sample_paths

SEARCH_MODES = ('performance', 'cost')
COST_OUTPUTS = ('sum', 'concat')
NORM_STATE = ('weight', 'bias', 'running_mean', 'running_var')


def build_affine_norm(
    norm_cfg: Dict, channels: int, device: Optional[torch.device] = None
) -> nn.Module:
    """A batch norm, or an instance norm made affine, of ``channels``.

    Args:
        norm_cfg (dict): mmcv norm config, e.g. ``dict(type='BN3d')`` or
            ``dict(type='IN3d', track_running_stats=False)``.
        channels (int): Its channels.
        device (torch.device, optional): Where to build it. Defaults to None.

    Returns:
        nn.Module: The norm. An instance norm is always affine here: its
        scale is the path weight.
    """
    cfg = dict(norm_cfg)
    if str(cfg.get('type')).startswith('IN'):
        cfg['affine'] = True
    norm = build_norm_layer(cfg, channels)[1]
    if not isinstance(norm, (_BatchNorm, _InstanceNorm)):
        raise ValueError(
            f'a searched layer needs a batch or instance norm '
            f'for its path weights, got {cfg["type"]}'
        )
    return norm.to(device) if device is not None else norm


#: Drawn filters are padded with zero filters to a multiple of this many.
DRAWN_WIDTH_STEP = 16


def pad_filters(
    weight: torch.Tensor, bias: Optional[torch.Tensor], step: int
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Zero filters after ``weight``'s (and zero biases after ``bias``) up
    to a multiple of ``step``.

    Args:
        weight (torch.Tensor): Filters along dim 0.
        bias (torch.Tensor, optional): One bias per filter, or None.
        step (int): The multiple.

    Returns:
        tuple[torch.Tensor, torch.Tensor | None]: The padded weight and
        bias (the inputs themselves when already a multiple).
    """
    pad = -weight.shape[0] % step
    if not pad:
        return weight, bias
    weight = torch.cat([weight, weight.new_zeros((pad,) + weight.shape[1:])])
    if bias is not None:
        bias = torch.cat([bias, bias.new_zeros(pad)])
    return weight, bias


class CAKESSearchConv3d(SubKernelConv3d):
    """A supernet conv whose every op holds all C_out filters, with its norm.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels C_out of the searched layer.
        op_set (Sequence[str]): At least two sub-kernel names.
        mode (str): ``'performance'`` or ``'cost'``. Defaults to
            ``'performance'``.
        stride (int | Sequence[int]): Stride along (T, H, W), as in
            ``nn.Conv3d``. Defaults to 1.
        kernel_size (int): The full kernel size k. Defaults to 3.
        derive (str): ``'argmax'`` or ``'topk'``, see
            :func:`~cakes_mm.models.search.derive.derive_mask`. Defaults to
            ``'argmax'``.
        dilation (int | Sequence[int]): As in ``nn.Conv3d``. Defaults to 1.
        bias (bool): Whether the ops' convs have biases. Defaults to False.
        padding_mode (str): As in ``nn.Conv3d``. Defaults to ``'zeros'``.
        norm_cfg (dict): The norm the layer stands in for, as an mmcv
            config (``BN3d`` or ``IN3d``). Defaults to ``dict(type='BN3d')``.
        cost_output (str): In cost mode, ``'sum'`` the ops of a channel
            (output C_out) or ``'concat'`` them (output n·C_out). Defaults
            to ``'sum'``.
        device (torch.device, optional): Where to build it. Defaults to None.
        kernel (int, optional): Deprecated name of ``kernel_size``.
    """

    includes_norm = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        op_set: Sequence[str],
        mode: str = 'performance',
        stride: IntOr3 = 1,
        kernel_size: int = 3,
        derive: str = 'argmax',
        dilation: IntOr3 = 1,
        bias: bool = False,
        padding_mode: str = 'zeros',
        norm_cfg: Dict = dict(type='BN3d'),
        cost_output: str = 'sum',
        device: Optional[torch.device] = None,
        kernel: int = UNSET,
    ) -> None:
        super().__init__(
            in_channels, kernel_size, stride, dilation, padding_mode, kernel
        )
        self.op_set = check_op_set(op_set, min_ops=2)
        self.mode = check_choice(mode, SEARCH_MODES, 'search mode')
        self.derive = check_choice(derive, DERIVE_MODES, 'derive')
        self.cost_output = check_choice(
            cost_output, COST_OUTPUTS, 'cost_output'
        )
        self.channels = out_channels
        self.bias = bias
        self.norm_cfg = dict(norm_cfg)
        num_ops = len(self.op_set)
        concat = mode == 'cost' and cost_output == 'concat'
        self.out_channels = num_ops * out_channels if concat else out_channels
        #: Draws performance-priority paths; see ``share_path_generator``.
        self.generator: Optional[torch.Generator] = None
        #: Where the norm this layer replaced sat, from the layer (set by
        #: the conversion); the fixed subnet puts its norm back there.
        self.norm_link: Optional[Link] = None
        #: In ``'concat'`` cost mode, the 1x1x1 conv that reads the n·C_out
        #: outputs; the fixed subnet keeps only its chosen inputs.
        self.consumer_link: Optional[Link] = None
        self.convs = self.make_convs(
            dict.fromkeys(self.op_set, out_channels), bias, device
        )
        self.search_bn = build_affine_norm(
            norm_cfg, num_ops * out_channels, device
        )
        #: How a drawn path is computed: one conv per op over its drawn
        #: channels (the fewest multiply-adds), or, ``dense``, one conv over
        #: the ops' common box, each channel's filter its drawn op's,
        #: zero-padded: shapes that do not change from step to step, so
        #: that a GPU keeps its conv plans and a CUDA graph can replay the
        #: step. None (the default) is dense on a GPU and while compiling.
        self.dense_paths: Optional[bool] = None
        #: Whether forward draws the path; a caller that replays a CUDA
        #: graph sets it False and calls :meth:`draw_path` before each step.
        self.draws_in_forward = True
        self.register_buffer(
            'drawn',
            torch.zeros(out_channels, dtype=torch.long, device=device),
            persistent=False,  # checkpoints stay as they were
        )
        self.register_buffer('frozen', torch.tensor(False, device=device))
        self.register_buffer(
            'fixed_mask',
            torch.zeros(
                num_ops, out_channels, dtype=torch.bool, device=device
            ),
        )
        #: ``fixed_mask`` on the CPU once frozen (None before): the training
        #: step reads the state from here, never from the device.
        self.fixed_on_cpu: Optional[torch.Tensor] = None

    @property
    def alpha(self) -> torch.Tensor:
        """Path weights α = |γ|, shape (num_ops, C_out)."""
        return (
            self.search_bn.weight.detach()
            .abs()
            .view(len(self.op_set), self.channels)
        )

    def derived_mask(self) -> torch.Tensor:
        """The pairs kept by the current derivation of α."""
        return derive_mask(self.alpha, self.derive)

    def chosen_mask(self) -> torch.Tensor:
        """The fixed pairs when frozen, else the derived ones."""
        if self.fixed_on_cpu is not None:
            return self.fixed_mask
        return self.derived_mask()

    def sample_mask(self) -> torch.Tensor:
        """The pairs active in one training step of the search, on the CPU
        (every pair in cost mode, a drawn path in performance mode)."""
        num_ops = len(self.op_set)
        if self.mode == 'cost':
            return torch.ones(num_ops, self.channels, dtype=torch.bool)
        return sample_paths(num_ops, self.channels, self.generator)

    def active_mask(self) -> torch.Tensor:
        """The pairs this call computes, by state (see the module doc); a
        path drawn before the call (:meth:`draw_path`) where the layer does
        not draw in forward."""
        if self.fixed_on_cpu is not None:
            return self.fixed_on_cpu
        if not self.training:
            return self.derived_mask()
        if self.mode == 'performance' and not self.draws_in_forward:
            return self.drawn_mask().cpu()
        return self.sample_mask()

    def drawn_mask(self) -> torch.Tensor:
        """The last path :meth:`draw_path` drew, as a bool (num_ops, C)
        mask on the device, one-hot by comparison (``F.one_hot`` checks its
        input's range on the host, which a CUDA graph cannot capture)."""
        ops = torch.arange(len(self.op_set), device=self.drawn.device)
        return self.drawn == ops[:, None]

    @property
    def current_choice(self) -> Dict[str, int]:
        """Channels per op of the fixed choice, or of the derived one."""
        return mask_to_choice(self.chosen_mask(), self.op_set)

    def dump_chosen(self) -> Dict[str, int]:
        """The chosen channels per op, as plain JSON-ready ints."""
        return self.current_choice

    def fix_chosen(self) -> None:
        """Freeze on the currently derived pairs."""
        self.fixed_mask.copy_(self.derived_mask())
        self.frozen.fill_(True)
        self.fixed_on_cpu = self.fixed_mask.cpu()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Mirror a loaded frozen state on the CPU."""
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        frozen = bool(self.frozen)
        self.fixed_on_cpu = self.fixed_mask.cpu() if frozen else None

    def unchosen_rows(self) -> List[Tuple[nn.Parameter, torch.Tensor]]:
        """(parameter, row indices) that a frozen layer never uses."""
        if self.fixed_on_cpu is None:
            return []
        rows = []
        for o, name in enumerate(self.op_set):
            unused = (~self.fixed_mask[o]).nonzero().squeeze(1)
            conv = self.convs[name]
            rows += [
                (p, unused) for p in (conv.weight, conv.bias) if p is not None
            ]
        unused_pairs = (~self.fixed_mask).flatten().nonzero().squeeze(1)
        rows += [
            (self.search_bn.weight, unused_pairs),
            (self.search_bn.bias, unused_pairs),
        ]
        return rows

    def _normalize(self, y: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Normalise ``y`` with the pairs ``index`` of ``search_bn`` only.

        Running statistics are gathered, updated by the functional norm and
        written back, so that each pair keeps its own.
        """
        norm = self.search_bn
        tracked = norm.track_running_stats
        mean = norm.running_mean[index] if tracked else None
        var = norm.running_var[index] if tracked else None
        weight, bias = norm.weight[index], norm.bias[index]
        use_batch = norm.training or not tracked
        momentum = norm.momentum
        if momentum is None and tracked:  # a cumulative moving average
            momentum = 1.0 / float(norm.num_batches_tracked)
        normalise = (
            F.batch_norm if isinstance(norm, _BatchNorm) else F.instance_norm
        )
        out = normalise(
            y, mean, var, weight, bias, use_batch, momentum or 0.0, norm.eps
        )
        if tracked and norm.training:
            with torch.no_grad():
                norm.running_mean[index] = mean
                norm.running_var[index] = var
        return out

    def draw_path(self) -> None:
        """Draw the op of every channel for the next training step (on the
        CPU, from :attr:`generator`) into :attr:`drawn`, on the device."""
        mask = sample_paths(len(self.op_set), self.channels, self.generator)
        drawn = mask.byte().argmax(0)
        self.drawn.copy_(host_to_device(drawn, self.drawn.device))

    def uses_dense_path(self, x: torch.Tensor) -> bool:
        """Whether this call computes a drawn path densely (see
        :attr:`dense_paths`)."""
        drawing = (
            self.training
            and self.mode == 'performance'
            and self.fixed_on_cpu is None
        )
        if not drawing:
            return False
        if self.dense_paths is None:
            return x.is_cuda or torch.compiler.is_compiling()
        return self.dense_paths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the active pairs, normalise them in one call and place
        them at their channels.

        A drawn path is a CPU mask: its channel indices, and where the
        output channels go, are found on the CPU and copied to the device
        at once (:func:`indices_to`), so a search step never waits for the
        device. While compiling, every state computes shapes that do not
        depend on the pairs (:meth:`_forward_dense`,
        :meth:`_forward_all_pairs`), so the graph has no break.
        """
        if self.search_bn.training and self.search_bn.track_running_stats:
            self.search_bn.num_batches_tracked.add_(1)
        if self.uses_dense_path(x):
            return self._forward_dense(x)
        if torch.compiler.is_compiling():
            return self._forward_all_pairs(x)
        mask = self.active_mask().cpu()  # already there in training
        used = [
            (o, name, mask[o].nonzero().squeeze(1))
            for o, name in enumerate(self.op_set)
        ]
        used = [
            (o, name, channels) for o, name, channels in used if len(channels)
        ]
        pairs = torch.cat(
            [o * self.channels + channels for o, _, channels in used]
        )
        concat = self.out_channels > self.channels
        order, gather = placement(
            pairs if concat else pairs % self.channels, self.out_channels
        )
        *channels, pairs, order = indices_to(
            [c for *_, c in used] + [pairs, order],
            self.search_bn.weight.device,
        )
        outs = []
        for (_, name, _), index in zip(used, channels):
            conv = self.convs[name]
            weight = drawn_filters(conv.weight, index)
            bias = (
                None if conv.bias is None else drawn_filters(conv.bias, index)
            )
            weight, bias = pad_filters(weight, bias, DRAWN_WIDTH_STEP)
            # box_conv: the op's own conv, kept off PyTorch's unvectorised
            # kernel, which would return the default layout.
            box = box_size((name,), self.kernel_size)
            outs.append(box_conv(x, weight, bias, box, self)[:, : len(index)])
        y = self._normalize(torch.cat(outs, dim=1), pairs)
        return place_channels(y, order, gather, self.out_channels)

    def _forward_all_pairs(self, x: torch.Tensor) -> torch.Tensor:
        """Every (op, channel) pair computed and normalised, the inactive
        ones zeroed: the sparse path's output, with shapes that do not
        depend on which pairs are active (what a compiled graph needs).

        The active pairs are the frozen ones, every pair in cost-mode
        training, or the derived ones in eval. The running statistics of
        the inactive pairs are put back as they were.
        """
        if self.fixed_on_cpu is not None:
            mask = self.fixed_mask  # the frozen pairs, on the device
        else:
            mask = self.active_mask().to(x.device)
        keep = mask.flatten()
        k = self.kernel_size
        y = torch.cat(
            [
                box_conv(x, conv.weight, conv.bias, box_size((name,), k), self)
                for name, conv in self.convs.items()
            ],
            dim=1,
        )
        norm = self.search_bn
        tracked = norm.training and norm.track_running_stats
        before = [s.clone() for s in self._running_stats()] if tracked else []
        y = self._normalize(y, torch.arange(keep.numel(), device=y.device))
        with torch.no_grad():
            for stat, old in zip(self._running_stats(), before):
                stat.copy_(torch.where(keep, stat, old))
        y = y * keep.to(y.dtype).view(1, -1, *([1] * (y.dim() - 2)))
        if self.out_channels > self.channels:  # cost mode's 'concat'
            return y
        return y.unflatten(1, (len(self.op_set), self.channels)).sum(dim=1)

    def _running_stats(self) -> List[torch.Tensor]:
        """The norm's running mean and variance."""
        return [self.search_bn.running_mean, self.search_bn.running_var]

    def _forward_dense(self, x: torch.Tensor) -> torch.Tensor:
        """A drawn path as one conv: every channel's filter is its drawn
        op's, zero-padded to the ops' box; the norm takes each channel's
        drawn (op, channel) pair."""
        if self.draws_in_forward:
            self.draw_path()
        box = box_size(self.op_set, self.kernel_size)
        convs = [self.convs[name] for name in self.op_set]
        chosen = self.drawn_mask().to(convs[0].weight)
        weight = sum(
            pick.view(-1, 1, 1, 1, 1) * pad_to_box(conv.weight, box)
            for pick, conv in zip(chosen, convs)
        )
        bias = None
        if self.bias:
            bias = sum(pick * conv.bias for pick, conv in zip(chosen, convs))
        y = box_conv(x, weight, bias, box, self)
        channels = torch.arange(self.channels, device=self.drawn.device)
        return self._normalize(y, self.drawn * self.channels + channels)

    def inflate_from_2d(
        self, weight2d: torch.Tensor, mode: str = 'sum'
    ) -> None:
        """Inflate every op from the full 2D filter set.

        Args:
            weight2d (torch.Tensor): A (C_out, C_in, k, k) 2D kernel.
            mode (str): ``'sum'`` or ``'mean'`` for dropped spatial axes.
                Defaults to ``'sum'``.
        """
        with torch.no_grad():
            for name, conv in self.convs.items():
                conv.weight.copy_(inflate_kernel(weight2d, name, mode))

    def shrink_from(self, conv: nn.Conv3d, norm: nn.Module) -> None:
        """Start every op from a trained k x k x k conv and its norm.

        Each op holds all the conv's filters, summed over the axes it lacks
        (and its bias); the norm's parameters and statistics are repeated
        over the ops.

        Args:
            conv (nn.Conv3d): The conv this layer replaces.
            norm (nn.Module): The batch or instance norm after it.
        """
        with torch.no_grad():
            for name, op in self.convs.items():
                op.weight.copy_(shrink_kernel(conv.weight, name))
                if conv.bias is not None:
                    op.bias.copy_(conv.bias)
        self.load_norm(
            {
                key: getattr(norm, key)
                for key in NORM_STATE
                if getattr(norm, key, None) is not None
            }
        )

    def load_norm(self, state: Dict[str, torch.Tensor]) -> None:
        """Repeat a norm of C_out channels over every op.

        Args:
            state (dict[str, torch.Tensor]): Some of ``weight``, ``bias``,
                ``running_mean`` and ``running_var`` of that norm.
        """
        repeats = len(self.op_set)
        with torch.no_grad():
            for key, value in state.items():
                target = getattr(self.search_bn, key, None)
                if target is not None:
                    target.copy_(value.repeat(repeats))

    def extra_repr(self) -> str:
        return (
            f'{self.in_channels}, {self.channels}, op_set={self.op_set}, '
            f'mode={self.mode}, derive={self.derive}'
        )
