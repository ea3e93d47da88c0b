"""The CAKES supernet conv: every op holds every output channel.

:class:`CAKESSearchConv3d` has three states, in mmrazor's vocabulary:

* **search, training**: the active (op, channel) pairs are drawn each call.
  In ``'performance'`` mode every output channel draws one op uniformly
  (paper §3.4) and only the drawn filters are computed; in ``'cost'`` mode
  every op runs on every channel and the n·C_out outputs are concatenated.
* **search, eval**: the active pairs are the currently derived architecture
  (:meth:`derived_mask`), never a random path.
* **frozen** (:meth:`fix_chosen`): the derived pairs are fixed in a buffer
  (so they survive a checkpoint); only they are computed, and
  :meth:`unchosen_rows` names the rows an optimizer must leave alone.

Each (op, channel) pair has its own BN scale γ in ``search_bn`` (index
``op * C_out + channel``), and its path weight is α = |γ|. The BN is part of
this module, so a block using it needs no norm of its own after it.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .cakes_conv import IntOr3, spatial_stride
from .inflation import inflate_kernel
from .sub_kernels import check_op_set, kernel_size, same_padding

SEARCH_MODES = ('performance', 'cost')
DERIVE_MODES = ('argmax', 'topk')


def check_choice(value: str, allowed: Tuple[str, ...], what: str) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise."""
    if value not in allowed:
        raise ValueError(f'{what} must be one of {allowed}, got {value!r}')
    return value


def derive_mask(alpha: torch.Tensor, derive: str = 'argmax') -> torch.Tensor:
    """The (op, channel) pairs a derivation keeps.

    Args:
        alpha (torch.Tensor): Path weights of shape (num_ops, C_out).
        derive (str): ``'argmax'``: each channel keeps its largest-α op
            (paper Eq. 12). ``'topk'``: the C_out largest α over all pairs
            (the public code). Defaults to ``'argmax'``.

    Returns:
        torch.Tensor: A bool mask of shape (num_ops, C_out).
    """
    check_choice(derive, DERIVE_MODES, 'derive')
    if not torch.isfinite(alpha).all():
        raise ValueError('cannot derive an architecture: the path weights '
                         '(|BN scale|) contain NaN or inf')
    num_ops, channels = alpha.shape
    mask = torch.zeros(num_ops, channels, dtype=torch.bool,
                       device=alpha.device)
    if derive == 'argmax':
        mask[alpha.argmax(dim=0), torch.arange(channels)] = True
    else:
        order = torch.argsort(alpha.flatten(), descending=True, stable=True)
        mask.view(-1)[order[:channels]] = True
    return mask


class CAKESSearchConv3d(nn.Module):
    """A supernet conv whose every op holds all C_out filters.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels C_out of the searched layer.
        op_set (Sequence[str]): At least two sub-kernel names.
        mode (str): ``'performance'`` or ``'cost'``. Defaults to
            ``'performance'``.
        stride (int | tuple[int, int, int]): Stride; an int s means
            (1, s, s). Defaults to 1.
        kernel (int): The full kernel size k. Defaults to 3.
        derive (str): ``'argmax'`` or ``'topk'``, see :func:`derive_mask`.
            Defaults to ``'argmax'``.
        generator (torch.Generator, optional): Draws the paths in
            performance mode; shared by a backbone's layers so that a resumed
            run draws the same paths. Defaults to None (torch's global RNG).
    """

    includes_norm = True

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 op_set: Sequence[str],
                 mode: str = 'performance',
                 stride: IntOr3 = 1,
                 kernel: int = 3,
                 derive: str = 'argmax',
                 generator: Optional[torch.Generator] = None) -> None:
        super().__init__()
        self.op_set = check_op_set(op_set, min_ops=2)
        self.mode = check_choice(mode, SEARCH_MODES, 'search mode')
        self.derive = check_choice(derive, DERIVE_MODES, 'derive')
        self.in_channels = in_channels
        self.channels = out_channels
        num_ops = len(self.op_set)
        self.out_channels = (out_channels if mode == 'performance' else
                             num_ops * out_channels)
        self.generator = generator
        self.convs = nn.ModuleDict({
            name: nn.Conv3d(in_channels, out_channels,
                            kernel_size(name, kernel),
                            stride=spatial_stride(stride),
                            padding=same_padding(name, kernel), bias=False)
            for name in self.op_set
        })
        self.search_bn = nn.BatchNorm3d(num_ops * out_channels)
        self.register_buffer('frozen', torch.tensor(False))
        self.register_buffer(
            'fixed_mask', torch.zeros(num_ops, out_channels,
                                      dtype=torch.bool))

    @property
    def alpha(self) -> torch.Tensor:
        """Path weights α = |γ|, shape (num_ops, C_out)."""
        return self.search_bn.weight.detach().abs().view(
            len(self.op_set), self.channels)

    def derived_mask(self) -> torch.Tensor:
        """The pairs kept by the current derivation of α."""
        return derive_mask(self.alpha, self.derive)

    def sample_mask(self) -> torch.Tensor:
        """The pairs active in one training step of the search."""
        num_ops = len(self.op_set)
        device = self.search_bn.weight.device
        if self.mode == 'cost':
            return torch.ones(num_ops, self.channels, dtype=torch.bool,
                              device=device)
        drawn = torch.randint(num_ops, (self.channels, ),
                              generator=self.generator)
        mask = torch.zeros(num_ops, self.channels, dtype=torch.bool)
        mask[drawn, torch.arange(self.channels)] = True
        return mask.to(device)

    def active_mask(self) -> torch.Tensor:
        """The pairs this call computes, by state (see the module doc)."""
        if self.frozen:
            return self.fixed_mask
        return self.sample_mask() if self.training else self.derived_mask()

    @staticmethod
    def mask_to_choice(mask: torch.Tensor,
                       op_set: Sequence[str]) -> Dict[str, int]:
        """Channel counts per op, in op-set order, as plain ints."""
        return {name: int(n) for name, n in zip(op_set, mask.sum(dim=1))}

    @property
    def current_choice(self) -> Dict[str, int]:
        """Channels per op of the fixed choice, or of the derived one."""
        mask = self.fixed_mask if self.frozen else self.derived_mask()
        return self.mask_to_choice(mask, self.op_set)

    def dump_chosen(self) -> Dict[str, int]:
        """The chosen channels per op, as plain JSON-ready ints."""
        return self.current_choice

    def fix_chosen(self) -> None:
        """Freeze on the currently derived pairs."""
        self.fixed_mask.copy_(self.derived_mask())
        self.frozen.fill_(True)

    def unchosen_rows(self) -> List[Tuple[nn.Parameter, torch.Tensor]]:
        """(parameter, row indices) that a frozen layer never uses."""
        if not self.frozen:
            return []
        rows = []
        for o, name in enumerate(self.op_set):
            unused = (~self.fixed_mask[o]).nonzero().squeeze(1)
            rows.append((self.convs[name].weight, unused))
        unused_pairs = (~self.fixed_mask).flatten().nonzero().squeeze(1)
        rows += [(self.search_bn.weight, unused_pairs),
                 (self.search_bn.bias, unused_pairs)]
        return rows

    def _normalize(self, y: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Batch-norm the pairs ``index`` of ``search_bn`` only."""
        bn = self.search_bn
        if not bn.training:
            return F.batch_norm(y, bn.running_mean[index],
                                bn.running_var[index], bn.weight[index],
                                bn.bias[index], False, 0.0, bn.eps)
        mean, var = bn.running_mean[index], bn.running_var[index]
        out = F.batch_norm(y, mean, var, bn.weight[index], bn.bias[index],
                           True, bn.momentum, bn.eps)
        with torch.no_grad():
            bn.running_mean[index] = mean
            bn.running_var[index] = var
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the active pairs and place them at their channels."""
        mask = self.active_mask()
        if self.search_bn.training:
            self.search_bn.num_batches_tracked.add_(1)
        outs, positions = [], []
        for o, name in enumerate(self.op_set):
            channels = mask[o].nonzero().squeeze(1)
            if channels.numel() == 0:
                continue
            conv = self.convs[name]
            y = F.conv3d(x, conv.weight[channels], None, conv.stride,
                         conv.padding)
            pairs = o * self.channels + channels
            outs.append(self._normalize(y, pairs))
            positions.append(channels if self.mode == 'performance' else
                             pairs)
        return self._assemble(torch.cat(outs, dim=1), torch.cat(positions))

    def _assemble(self, y: torch.Tensor,
                  positions: torch.Tensor) -> torch.Tensor:
        """Put the channels of ``y`` at ``positions`` of the output.

        One channel per position (the usual case) is a permutation; else the
        output starts at zero and pairs that share a channel are summed.
        """
        width = self.out_channels
        if positions.numel() == width and torch.equal(
                torch.bincount(positions, minlength=width),
                torch.ones_like(positions)):
            inverse = torch.empty_like(positions)
            inverse[positions] = torch.arange(width, device=positions.device)
            return y.index_select(1, inverse)
        out = y.new_zeros((y.shape[0], width) + y.shape[2:])
        return out.index_add(1, positions, y)

    def inflate_from_2d(self, weight2d: torch.Tensor,
                        mode: str = 'sum') -> None:
        """Inflate every op from the full 2D filter set.

        Args:
            weight2d (torch.Tensor): A (C_out, C_in, k, k) 2D kernel.
            mode (str): ``'sum'`` or ``'mean'`` for dropped spatial axes.
                Defaults to ``'sum'``.
        """
        with torch.no_grad():
            for name, conv in self.convs.items():
                conv.weight.copy_(inflate_kernel(weight2d, name, mode))

    def load_2d_norm(self, norm2d: Dict[str, torch.Tensor]) -> None:
        """Repeat a 2D BN of C_out channels over every op.

        Args:
            norm2d (dict[str, torch.Tensor]): ``weight``, ``bias``,
                ``running_mean`` and ``running_var`` of the 2D BN.
        """
        repeats = len(self.op_set)
        with torch.no_grad():
            for key, value in norm2d.items():
                getattr(self.search_bn, key).copy_(value.repeat(repeats))

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.channels}, op_set={self.op_set}, '
                f'mode={self.mode}, derive={self.derive}')
