"""The export of a search checkpoint's arch (tools/search/export_arch.py's
code), in process; tests/tools/test_search_e2e.py runs the tool."""

import json

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

from cakes_mm.apis.export_arch import export_arch, main
from cakes_mm.models.search import dump_chosen, fix_chosen, search_layers

SUPERNET = dict(
    type='CAKESRecognizer3D',
    backbone=dict(
        type='CAKESResNetSupernet',
        mode='performance',
        op_set=['1xkxk', 'kx1x1'],
        base_channels=8,
    ),
    cls_head=dict(type='I3DHead', num_classes=4, in_channels=256),
)


@pytest.fixture
def search(tmp_path):
    """A search config and a checkpoint of it with a spread α."""
    config = str(tmp_path / 'search.py')
    Config(dict(model=SUPERNET)).dump(config)
    model = MODELS.build(SUPERNET)
    with torch.no_grad():
        for _, conv in search_layers(model):
            conv.search_bn.weight.uniform_(0.1, 1)
    checkpoint = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return config, checkpoint, model


def test_export_writes_the_derived_arch(search, tmp_path, capsys):
    config, checkpoint, model = search
    out = tmp_path / 'arch.json'
    arch, how = export_arch(config, checkpoint, out)
    assert arch == dump_chosen(model)
    assert json.loads(out.read_text()) == arch
    assert how == 'derived by argmax'
    main([config, str(checkpoint), '--out', str(out), '--derive', 'topk'])
    assert capsys.readouterr().out == (
        f'wrote {out}: {len(arch)} searched layers, derived by topk\n'
    )


def test_export_of_a_frozen_search_says_so(search, tmp_path):
    config, checkpoint, model = search
    fix_chosen(model)
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    arch, how = export_arch(config, checkpoint, tmp_path / 'arch.json')
    assert (arch, how) == (dump_chosen(model), 'the frozen choice')


def test_export_refuses_what_is_not_a_search(search, tmp_path):
    config, checkpoint, _ = search
    plain = dict(
        SUPERNET,
        backbone=dict(type='CAKESResNet', arch='c2d', base_channels=8),
    )
    plain_config = str(tmp_path / 'plain.py')
    Config(dict(model=plain)).dump(plain_config)
    out = tmp_path / 'arch.json'
    with pytest.raises(SystemExit, match='not a search config'):
        export_arch(plain_config, checkpoint, out)
    fixed = tmp_path / 'fixed.pth'
    torch.save({'state_dict': MODELS.build(plain).state_dict()}, fixed)
    with pytest.raises(ValueError, match='not a checkpoint of a CAKES search'):
        export_arch(config, fixed, out)
    assert not out.exists()
