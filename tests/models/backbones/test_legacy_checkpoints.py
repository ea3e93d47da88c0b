"""Checkpoints written before the search moved out of CAKESResNet still load
and give the outputs they gave then.

The files in tests/data/legacy/ were written by cakes_mm at commit 178a6bf
(before the redesign): a fixed CAKES ResNet (groups in a non-canonical
order), a cost-priority and a frozen performance-priority search supernet
(then ``CAKESResNet(search_mode=...)``) and a PmSCn ResNet-34, each at base
width 2, with the backbone's output on one recorded input clip.
"""

import os.path as osp

import pytest
import torch

from cakes_mm.checkpoint.safe_load import load_local_checkpoint
from cakes_mm.models import CAKESResNet, CAKESResNetSupernet, PmSCnResNet
from cakes_mm.models.search import is_frozen

LEGACY = osp.join(
    osp.dirname(osp.dirname(osp.dirname(__file__))), 'data', 'legacy'
)
MODELS = {
    'cakes_resnet_123d': lambda: CAKESResNet(
        arch='uniform', op_set=['1xkxk', 'kxkxk', 'kx1x1'], base_channels=2
    ),
    'cakes_supernet_cost': lambda: CAKESResNetSupernet(
        op_set=['kxkxk', '1xkxk', 'kx1x1'], mode='cost', base_channels=2
    ),
    'cakes_supernet_performance_frozen': lambda: CAKESResNetSupernet(
        op_set=['1xkxk', 'kx1x1'], mode='performance', base_channels=2
    ),
    'pmscn_resnet_p2sc2': lambda: PmSCnResNet(
        depth=34, pmscn=dict(m=2, n=2), base_channels=2, with_pool1=False
    ),
}


@pytest.mark.parametrize('name', MODELS)
def test_a_checkpoint_in_the_old_layout_loads_and_computes_the_same(name):
    checkpoint = load_local_checkpoint(osp.join(LEGACY, f'{name}.pth'))
    state = {
        key[len('backbone.') :]: value
        for key, value in checkpoint['state_dict'].items()
    }
    model = MODELS[name]()
    model.load_state_dict(state, strict=True)
    model.eval()
    clip = torch.load(osp.join(LEGACY, 'input.pth'), weights_only=True)
    expected = torch.load(
        osp.join(LEGACY, f'{name}_output.pth'), weights_only=True
    )
    with torch.no_grad():
        got = model(clip)
    # 1e-4 of the output's scale: a CAKES conv now sums its narrow groups'
    # taps in one fused conv (conv_plan), in another order than when these
    # were recorded, and oneDNN's kernels sum in another order on another
    # CPU (an Intel Xeon's came to 1.25e-4 of one element's own size).
    scale = expected.abs().max()
    torch.testing.assert_close(
        got / scale, expected / scale, rtol=1e-4, atol=1e-4
    )
    assert is_frozen(model) == name.endswith('frozen')
