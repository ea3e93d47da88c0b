"""The code of README.md's section on converting your own network runs as
written: the function converts MONAI's BasicUNet, the config builds, and
the PmSCn op its comment offers converts mmaction2's ResNet3d."""

import os.path as osp
import re
from typing import Dict, List

import pytest
import torch
from mmaction.registry import MODELS
from tool_helpers import REPO

from cakes_mm.models import CAKESConv3d
from cakes_mm.models.layers.pmscn import PmSCn
from cakes_mm.models.search import search_layers

SECTION = '## CAKES or PmSCn in your own network'


def section_code(
    title: str = SECTION, path: str = osp.join(REPO, 'README.md')
) -> List[str]:
    """The Python code blocks of one ``## `` section of a markdown file.

    Args:
        title (str): The section's heading line. Defaults to
            :data:`SECTION`.
        path (str): The file. Defaults to the README.

    Returns:
        list[str]: The blocks' code, in order.
    """
    with open(path, encoding='utf-8') as file:
        text = file.read()
    start = text.index(f'\n{title}\n')
    end = text.find('\n## ', start + 1)
    section = text[start : None if end < 0 else end]
    return re.findall(r'```python\n(.*?)```', section, re.S)


def run_block(code: str) -> Dict[str, object]:
    """Execute a code block; return the names it defined."""
    namespace = {}
    exec(compile(code, 'README.md', 'exec'), namespace)
    return namespace


@pytest.fixture(scope='module')
def blocks():
    """The section's two blocks: a conversion, then a config."""
    code = section_code()
    assert len(code) == 2, code
    return code


def test_the_conversion_example_converts_basic_unet(blocks):
    names = run_block(blocks[0])
    report = names['report']
    converted = [
        module
        for module in names['unet'].modules()
        if isinstance(module, CAKESConv3d)
    ]
    assert len(converted) == len(report.layers) > 0
    # A uniform split over the three ops the example names.
    for module in converted:
        assert list(module.choice) == ['kxkxk', '1xkxk', 'kxkx1']
        assert min(module.choice.values()) > 0


def test_the_config_example_builds_a_resnet3d_supernet(blocks):
    model = MODELS.build(run_block(blocks[1])['model'])
    # One searched layer per 3x3x3 conv of ResNet3d-50's 16 bottlenecks.
    assert len(search_layers(model)) == 16
    assert type(model.backbone).__name__ == 'ConvertedNet'


def pmscn_options(code: str) -> Dict[str, object]:
    """The ``op=dict(type='pmscn', m=2, n=2)`` that a comment in ``code``
    offers instead."""
    match = re.search(r"op=dict\(type='pmscn',([^)]*)\)", code)
    assert match, code
    return dict(
        type='pmscn',
        **{
            key: int(value)
            for key, value in re.findall(r'(\w+)=(\d+)', match.group(1))
        },
    )


@pytest.mark.parametrize('depth', [50, 18])
def test_the_pmscn_alternative_converts_resnet3d(blocks, depth):
    options = pmscn_options(blocks[1])
    assert options == dict(type='pmscn', m=2, n=2)
    resnet = dict(
        run_block(blocks[1])['model']['backbone']['model'], depth=depth
    )
    backbone = MODELS.build(
        dict(type='ConvertedNet', model=resnet, op=options)
    ).eval()
    assert any(isinstance(module, PmSCn) for module in backbone.modules())
    plain = MODELS.build(resnet)
    plain.eval()  # ResNet3d's train() returns None
    clip = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        features = backbone(clip)
        original = plain(clip)
    assert features.shape == original.shape
    assert original.shape[1] == (2048 if depth == 50 else 512)
    assert torch.isfinite(features).all()
