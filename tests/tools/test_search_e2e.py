"""The search loop as users run it, through the real tools on a generated
tiny dataset: search (2 epochs, frozen after 1) → export → retrain."""

import json
import os.path as osp

import pytest
from tool_helpers import (
    SEARCH_ARCH_FILES,
    read_arch_files,
    run_tool,
    write_rawframe_dataset,
    write_tiny_config,
)

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

SEARCH = """
model = dict(
    type='CAKESRecognizer3D',
    backbone=dict(type='CAKESResNetSupernet',
                  op=dict(_delete_=True, type='cakes_search', mode='cost',
                          op_set=['kxkxk', '1xkxk', 'kx1x1'])))
optim_wrapper = dict(
    optimizer=dict(weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'.search_bn.': dict(decay_mult=0.0)}))
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=1)]
"""


def run_ok(args, cwd):
    result = run_tool(args, cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope='module')
def searched(tmp_path_factory):
    root = tmp_path_factory.mktemp('search')
    ann = write_rawframe_dataset(str(root), [0, 1, 2, 0, 1, 2])
    plain = write_tiny_config(
        str(root / 'tiny.py'), ann, str(root / 'frames'), epochs=2
    )
    search = root / 'search.py'
    search.write_text(f"_base_ = ['{plain}']\n" + SEARCH)
    result = run_ok(['train.py', str(search), '--work-dir', 'work'], str(root))
    return root, plain, str(search), result


def test_search_writes_the_arch_files_and_logs(searched):
    root, _, _, result = searched
    work = root / 'work'
    archs = read_arch_files(work, (*SEARCH_ARCH_FILES, 'arch_latest.json'))
    for arch in archs.values():
        assert [sum(b.values()) for b in arch] == [8] * 3 + [16] * 4 + [
            32
        ] * 6 + [64] * 3
    assert archs['arch_final.json'] == archs['arch_frozen.json']
    log = result.stdout + result.stderr
    assert 'loss_alpha' in log
    assert 'backbone.layer1.0.conv2: kxkxk' in log and 'alpha mean' in log
    assert 'froze the architecture after epoch 1' in log
    scalars = [
        json.loads(line)
        for path in work.glob('*/vis_data/scalars.json')
        for line in open(path)
    ]
    assert any('search/share_kxkxk' in entry for entry in scalars)


def test_export_and_retrain(searched):
    root, plain, search, _ = searched
    work = root / 'work'
    run_ok(
        [
            'search/export_arch.py',
            search,
            'work/epoch_2.pth',
            '--out',
            'exported.json',
        ],
        str(root),
    )
    # The checkpoint was frozen after epoch 1: export gives that choice.
    assert json.loads((root / 'exported.json').read_text()) == json.loads(
        (work / 'arch_frozen.json').read_text()
    )
    run_ok(
        [
            'search/export_arch.py',
            search,
            'work/epoch_1.pth',
            '--out',
            'topk.json',
            '--derive',
            'topk',
        ],
        str(root),
    )
    assert osp.getsize(root / 'topk.json') > 0
    retrain = run_ok(
        [
            'train.py',
            plain,
            '--work-dir',
            'retrain',
            '--cfg-options',
            'train_cfg.max_epochs=1',
            f'model.backbone.op.arch={root / "exported.json"}',
        ],
        str(root),
    )
    assert (root / 'retrain' / 'epoch_1.pth').exists(), retrain.stderr[-2000:]


def test_export_refuses_a_non_search_checkpoint(searched):
    root, plain, search, _ = searched
    run_ok(
        [
            'train.py',
            plain,
            '--work-dir',
            'fixed',
            '--cfg-options',
            'train_cfg.max_epochs=1',
        ],
        str(root),
    )
    result = run_tool(
        [
            'search/export_arch.py',
            search,
            'fixed/epoch_1.pth',
            '--out',
            'x.json',
        ],
        str(root),
    )
    assert result.returncode != 0
    assert 'not a checkpoint of a CAKES search supernet' in result.stderr
    assert not (root / 'x.json').exists()
