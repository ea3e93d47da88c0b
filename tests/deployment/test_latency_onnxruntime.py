"""benchmarks/latency.py --onnxruntime: onnxruntime rows for TSN, I3D and
the deploy-mode nets, timed in the same run, on a tiny clip."""

import pytest
from benchmarks.test_latency import ROWS, run_on_a_tiny_clip, table_rows

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

EXPORTED = ['TSN R50 (mmaction2)', 'I3D R50 (mmaction2)'] + [
    row for row in ROWS if row.endswith(' deploy')
]


def test_latency_benchmark_adds_onnxruntime_rows(tmp_path):
    written = run_on_a_tiny_clip(
        tmp_path, '--threads', '1', '--no-train', '--onnxruntime'
    )
    rows = table_rows(written)
    assert list(rows) == ROWS + [f'{name}, onnxruntime' for name in EXPORTED]
    assert len(EXPORTED) == 10  # TSN, I3D, C2D, C3D, the six released archs
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
