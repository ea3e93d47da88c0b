"""The CAKES search supernet over the CAKES ResNet: every block's middle
conv is a searched layer whose every op holds every channel."""

from typing import Dict, Optional, Sequence, Set, Tuple

import torch.nn as nn
from mmaction.registry import MODELS

from ..search.search_conv import CAKESSearchConv3d
from ..utils import link_between
from .cakes_resnet import CAKESResNet
from .resnet2d_inflation import StateDict, copy_into, inflate_like


@MODELS.register_module()
class CAKESResNetSupernet(CAKESResNet):
    """A CAKES ResNet whose middle convs are searched (paper §3.4).

    Each middle conv is a
    :class:`~cakes_mm.models.search.CAKESSearchConv3d` that carries the
    block's ``bn2`` as its per-(op, channel) norm. In cost-priority mode its
    n·planes outputs are concatenated and the block's conv3 reads all of
    them (BN → ReLU → 1x1x1 conv from n·planes, as in the paper). The search
    itself (paths, freezing, export, the lasso) comes from
    :mod:`cakes_mm.models.search` and the search hook, as for any model.

    Args:
        op_set (Sequence[str]): At least two sub-kernel names.
        mode (str): ``'performance'`` or ``'cost'``. Defaults to
            ``'performance'``.
        derive (str): ``'argmax'`` per channel (paper Eq. 12) or ``'topk'``
            per layer (the authors' code). Defaults to ``'argmax'``.
        arch (None): Must be None; it exists so that a config inheriting a
            CAKESResNet config can unset the base's arch. Defaults to None.
        **kwargs: :class:`CAKESResNet` arguments except ``arch`` and
            ``op_set``. Inflation from a 2D ResNet gives every op the full
            2D filter set, repeats ``bn2`` over the ops and, in cost mode,
            conv3's input weights n times.
    """

    def __init__(
        self,
        op_set: Sequence[str],
        mode: str = 'performance',
        derive: str = 'argmax',
        arch: None = None,
        **kwargs,
    ) -> None:
        if arch is not None:
            raise ValueError(
                'CAKESResNetSupernet searches the arch; give '
                'arch=None (a config inheriting a CAKESResNet '
                'config must set it to None)'
            )
        self.op_set = list(op_set)
        self.mode = mode
        self.derive = derive
        super().__init__(arch='c3d', **kwargs)
        # Where each searched conv's replaced bn2 and its consumer conv3
        # are, for the fixed subnet (cakes_mm.models.search.fixed_subnet).
        for block in self.blocks():
            block.conv2.norm_link = link_between('conv2', 'bn2')
            block.conv2.consumer_link = link_between('conv2', 'conv3')

    def mid_conv(
        self,
        planes: int,
        stride: Tuple[int, int, int],
        choice: Optional[Dict[str, int]],
    ) -> nn.Module:
        """A searched middle conv (``choice`` is ignored)."""
        return CAKESSearchConv3d(
            planes,
            planes,
            self.op_set,
            self.mode,
            stride,
            self.kernel,
            self.derive,
            norm_cfg=self.norm_cfg,
            cost_output='concat',
        )

    def switch_to_deploy(self) -> None:
        """A supernet has no deploy form; export its fixed subnet first."""
        raise ValueError(
            'deploy mode covers fixed CAKES archs; this is a '
            'search supernet: export its arch and build a '
            'CAKESResNet from it'
        )

    def inflate_mid_conv(
        self, block: str, mid: nn.Module, state2d: StateDict, own: StateDict
    ) -> Set[str]:
        """Every op from the full 2D filters; ``bn2`` repeated over the
        ops; in cost mode, conv3's input weights repeated n times."""
        mid.inflate_from_2d(state2d[f'{block}.conv2.weight'], self.inflate_1d)
        norm_keys = ('weight', 'bias', 'running_mean', 'running_var')
        mid.load_norm({k: state2d[f'{block}.bn2.{k}'] for k in norm_keys})
        used = {f'{block}.bn2.{k}' for k in norm_keys}
        if self.mode == 'cost':
            conv3 = f'{block}.conv3.weight'
            repeated = state2d[conv3].repeat(1, len(self.op_set), 1, 1)
            copy_into(
                own, conv3, inflate_like(repeated, tuple(own[conv3].shape))
            )
            used.add(conv3)
        return used
