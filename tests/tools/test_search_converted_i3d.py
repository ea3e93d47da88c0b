"""A search that needs no CAKESResNet: mmaction2's I3D ResNet3d, converted
in the config, searched through tools/train.py in both modes, exported, and
its frozen subnet rebuilt from the arch file by converting the original I3D.
"""

import json

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from models.convert.networks import I3D
from tool_helpers import (
    read_arch_files,
    run_tool,
    write_rawframe_dataset,
    write_tiny_config,
)

from cakes_mm.checkpoint.safe_load import load_local_checkpoint
from cakes_mm.models.search import fixed_subnet, search_layers

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

SEARCH = """
model = dict(
    type='CAKESRecognizer3D',
    backbone=dict(_delete_=True, type='ConvertedNet', model={i3d!r},
                  op=dict(type='cakes_search', mode='{mode}',
                          op_set=['1xkxk', 'kx1x1', 'kxkxk']),
                  input_shape=(1, 3, 4, 32, 32)))
optim_wrapper = dict(
    optimizer=dict(weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={{'.search_bn.': dict(decay_mult=0.0)}}))
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=1)]
"""


@pytest.fixture(scope='module', params=['performance', 'cost'])
def searched(request, tmp_path_factory):
    mode = request.param
    root = tmp_path_factory.mktemp(f'i3d_{mode}')
    ann = write_rawframe_dataset(str(root), [0, 1, 2, 0, 1, 2])
    plain = write_tiny_config(
        str(root / 'tiny.py'), ann, str(root / 'frames'), epochs=2
    )
    search = root / 'search.py'
    search.write_text(
        f"_base_ = ['{plain}']\n" + SEARCH.format(i3d=I3D, mode=mode)
    )
    result = run_tool(
        ['train.py', str(search), '--work-dir', 'work'], str(root)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return mode, root, str(search), result.stdout + result.stderr


def test_search_on_a_converted_i3d_writes_the_arch_files(searched):
    mode, root, _, log = searched
    work = root / 'work'
    arch = read_arch_files(work)
    # One entry per inflated (3x3x3) conv of the I3D, in module order.
    assert [sum(entry.values()) for entry in arch['arch_final.json']] == [
        8
    ] * 3 + [16] * 2 + [32] * 3 + [64]
    assert arch['arch_final.json'] == arch['arch_frozen.json']
    assert 'backbone.model.layer1.0.conv2.conv: 1xkxk' in log
    assert ('loss_alpha' in log) == (mode == 'cost')
    assert 'froze the architecture after epoch 1' in log


def test_the_original_i3d_converted_with_the_arch_gives_the_subnet(searched):
    mode, root, search, _ = searched
    cfg = Config.fromfile(search)
    supernet = MODELS.build(cfg.model)
    state = load_local_checkpoint(str(root / 'work' / 'epoch_2.pth'))
    supernet.load_state_dict(state['state_dict'], strict=True)
    assert all(bool(layer.frozen) for _, layer in search_layers(supernet))
    fixed_cfg = cfg.model.to_dict()
    fixed_cfg['backbone'] = dict(
        type='ConvertedNet',
        model=I3D,
        op=dict(type='cakes', arch=str(root / 'work' / 'arch_final.json')),
    )
    rebuilt = MODELS.build(fixed_cfg)
    rebuilt.load_state_dict(fixed_subnet(supernet).state_dict(), strict=True)
    supernet.eval()
    rebuilt.eval()
    clip = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        # Two forms of one function (fused blocks against the supernet's
        # masked kernels) that sum in different orders: equal to 1e-4.
        torch.testing.assert_close(
            rebuilt.backbone(clip),
            supernet.backbone(clip),
            rtol=1e-4,
            atol=1e-4,
        )


def test_export_arch_reads_the_converted_search(searched):
    _, root, search, _ = searched
    result = run_tool(
        [
            'search/export_arch.py',
            search,
            'work/epoch_2.pth',
            '--out',
            'exported.json',
        ],
        str(root),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((root / 'exported.json').read_text()) == json.loads(
        (root / 'work' / 'arch_frozen.json').read_text()
    )
    assert '9 searched layers, the frozen choice' in result.stdout
