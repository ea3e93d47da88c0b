import subprocess
import sys

import pytest
from tool_helpers import REPO, run_tool

from cakes_mm.environment import (
    DRN_PACKAGE,
    MissingDRN,
    drn_on_disk,
    patch_missing_drn,
)

BUILD_IN_FRESH_PROCESS = """
import cakes_mm
from mmaction.registry import MODELS
for cfg in [dict(type='ResNet', depth=50),
            dict(type='ResNetTSM', depth=50, num_segments=8),
            dict(type='ResNet3d', depth=50, pretrained=None,
                 pretrained2d=False),
            dict(type='CAKESResNet', arch='CAKES12D_C')]:
    print(type(MODELS.build(cfg)).__name__)
"""


@pytest.mark.slow
def test_mmaction_and_cakes_models_build_after_import_cakes_mm():
    out = subprocess.run(
        [sys.executable, '-c', BUILD_IN_FRESH_PROCESS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ['ResNet', 'ResNetTSM', 'ResNet3d', 'CAKESResNet']


def test_the_stand_in_fills_the_package_the_pinned_wheel_lacks():
    # mmaction2 1.2.0 from PyPI ships no localizers/drn (issue #2714).
    assert not drn_on_disk()
    assert sys.modules[f'{DRN_PACKAGE}.drn'].DRN is MissingDRN
    assert patch_missing_drn() is False  # already in place: a no-op
    with pytest.raises(ImportError, match='issue #2714'):
        MissingDRN()


@pytest.mark.slow
@pytest.mark.parametrize(
    'args, first',
    [
        (['analysis/get_flops.py', 'configs/cakes_r50_sthv1.py'], 'Config: '),
        (['search/export_arch.py', '--help'], 'usage: export_arch.py'),
        (
            ['deployment/convert_to_deploy.py', '--help'],
            'usage: convert_to_deploy.py',
        ),
    ],
)
def test_a_tool_starts_with_its_own_first_line(args, first):
    result = run_tool(args, REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    output = (result.stderr + result.stdout).lstrip()
    assert output.startswith(first), output[:500]
    assert 'MultiScaleDeformableAttention' not in output
    assert 'pkg_resources' not in output
