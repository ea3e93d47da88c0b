"""benchmarks/latency.py --onnxruntime: onnxruntime rows for TSN and the
deploy-mode nets, timed in the same run, on a tiny clip."""

import pytest
from benchmarks.test_latency import ROWS, table_rows
from tool_helpers import run_tool

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

EXPORTED = ['TSN R50 (mmaction2)'] + [
    row for row in ROWS if row.endswith(' deploy')
]


def test_latency_benchmark_adds_onnxruntime_rows(tmp_path):
    out = tmp_path / 'latency.md'
    result = run_tool(
        [
            '../benchmarks/latency.py',
            '--frames',
            '2',
            '--size',
            '32',
            '--repeat',
            '1',
            '--threads',
            '1',
            '--no-train',
            '--no-pmscn',
            '--onnxruntime',
            '--out',
            str(out),
        ],
        cwd=str(tmp_path),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = out.read_text()
    assert written.strip() in result.stdout
    rows = table_rows(written)
    assert list(rows) == ROWS + [f'{name}, onnxruntime' for name in EXPORTED]
    assert len(EXPORTED) == 9  # TSN, C2D, C3D and the six released archs
    ratios = next(
        line
        for line in written.splitlines()
        if line.startswith(
            'onnxruntime latency / PyTorch latency of the same network: '
        )
    )
    for name in EXPORTED:
        exported = rows[f'{name}, onnxruntime']
        # The same network: params, GFLOPs and the FLOPs ratio.
        assert exported[:2] == rows[name][:2]
        assert exported[6] == rows[name][6]
        assert float(exported[2]) > 0
        assert f'{name}: ' in ratios
