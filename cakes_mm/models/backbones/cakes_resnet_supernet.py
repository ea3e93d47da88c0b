"""The CAKES search supernet over the CAKES ResNet: every block's middle
conv is a searched layer whose every op holds every channel."""

from typing import Dict, Optional, Set, Tuple

import torch.nn as nn
from mmaction.registry import MODELS

from ...deprecation import UNSET
from ..ops import OpSpec, format_op, from_old_keywords, parse_op
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
        op (dict): ``dict(type='cakes_search', op_set=[...], mode=...,
            derive=...)``: ``op_set`` at least two sub-kernel names;
            ``mode`` ``'performance'`` (the default) or ``'cost'``;
            ``derive`` ``'argmax'`` per channel (paper Eq. 12, the default)
            or ``'topk'`` per layer (the authors' code).
        **kwargs: :class:`CAKESResNet` arguments except ``op``. Inflation
            from a 2D ResNet gives every op the full 2D filter set, repeats
            ``bn2`` over the ops and, in cost mode, conv3's input weights n
            times.
        op_set, mode, derive: Deprecated: the keys of ``op``. An ``op``
            given as a list is an old positional ``op_set``.
        arch (None): Deprecated, must be None (it let a config inheriting
            a CAKESResNet config unset the base's arch).
    """

    OP_TYPES = ('cakes_search',)

    def __init__(
        self,
        op: Optional[OpSpec] = None,
        mode: str = UNSET,
        derive: str = UNSET,
        arch: None = None,
        op_set=UNSET,
        **kwargs,
    ) -> None:
        name = type(self).__name__
        if arch is not None:
            raise ValueError(
                f'{name} searches the arch; give op=dict('
                f"type='cakes_search', op_set=[...]) and no arch"
            )
        if isinstance(op, (list, tuple)):
            op, op_set = None, op
        old = dict(op_set=op_set, mode=mode, derive=derive)
        legacy = dict(type='cakes_search')
        legacy.update((k, v) for k, v in old.items() if v is not UNSET)
        op = from_old_keywords(name, op, old, legacy)
        if op is None:
            raise TypeError(
                f'{name}: give op={format_op(dict(type="cakes_search"))} '
                f'with op_set=[...]'
            )
        spec = parse_op(op, name, self.OP_TYPES)
        self.op_set = list(spec['op_set'])
        self.mode = spec.get('mode', 'performance')
        self.derive = spec.get('derive', 'argmax')
        super().__init__(op=dict(type='conv3d'), **kwargs)
        #: The op of the middle convs, as a dict.
        self.op = spec
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
            self.kernel_size,
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
