"""Tools whose other tests call the package start as scripts too: each
prints its usage from outside the repository. Every other tool has a test
that runs it in a subprocess."""

import os.path as osp

import pytest
from tool_helpers import run_tool

SCRIPTS = (
    'analysis/conversion_table.py',
    'analysis/update_metafiles.py',
)


@pytest.mark.slow  # starts a Python process per tool
@pytest.mark.parametrize('script', SCRIPTS)
def test_the_script_starts_and_prints_its_usage(script, tmp_path):
    result = run_tool([script, '--help'], str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f'usage: {osp.basename(script)}')
