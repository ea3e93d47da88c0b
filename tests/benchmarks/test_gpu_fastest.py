"""The GPU benchmark's own check on the CPU: its search group (the CUDA
graph rows run as plain calls there) writes every row, with the path drawn
before each call where a graph would replay."""

import pytest
from tool_helpers import run_tool

pytestmark = pytest.mark.slow  # it runs a tool in a subprocess

SEARCH_ROWS = ['C2D', 'C2D, eager'] + [
    f'CAKES {ops} search step, {form}'
    for ops in ('12D', '123D')
    for form in (
        'one conv, CUDA graph',
        'one conv, eager',
        'conv per op, eager',
    )
]


def test_gpu_benchmark_checks_its_search_group_on_the_cpu(tmp_path):
    out = tmp_path / 'fastest.md'
    result = run_tool(
        [
            '../benchmarks/gpu_fastest.py',
            '--device',
            'cpu',
            '--groups',
            'search',
            '--batch',
            '2',
            '--repeat',
            '1',
            '--replays',
            '1',
            '--out',
            str(out),
        ],
        cwd=str(tmp_path),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = out.read_text()
    assert written.strip() in result.stdout
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [cell.strip() for cell in line.strip('|').split('|')]
            for line in written.splitlines()
            if line.startswith('| ') and not line.startswith('| model')
        )
    }
    assert list(rows) == SEARCH_ROWS
    assert rows['C2D'][8] == '1.00'  # the train ratio's reference
    assert all(float(row[4]) > 0 for row in rows.values())  # train (ms)
    assert 'Notes' not in written  # nothing fell back or failed
    profile = (tmp_path / 'fastest.md.profile.txt').read_text()
    assert profile.startswith('## CAKES 123D search step, conv per op')
