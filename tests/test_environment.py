import logging
import subprocess
import sys

import pytest
from tool_helpers import REPO, run_tool

from cakes_mm.environment import (
    DRN_PACKAGE,
    IRRELEVANT_LOG_MESSAGES,
    MissingDRN,
    drn_on_disk,
    hide_irrelevant_log_messages,
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
        (
            [
                'analysis/get_flops.py',
                'configs/cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
            ],
            'Config: ',
        ),
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


class CollectedRecords(logging.Handler):
    """Keep the messages that reach it."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_runner_logger_drops_only_the_irrelevant_lines():
    from mmengine.logging import MMLogger, print_log

    logger = MMLogger.get_instance('test_irrelevant_lines')
    collected = CollectedRecords()
    logger.addHandler(collected)
    hide_irrelevant_log_messages(logger)
    hide_irrelevant_log_messages(logger)  # idempotent
    assert len(logger.filters) == 1
    kept = 'epoch_2.pth could not be written'
    for message in (*IRRELEVANT_LOG_MESSAGES, kept):
        print_log(f'"{message}" ...', logger=logger, level=logging.WARNING)
    assert collected.messages == [f'"{kept}" ...']
