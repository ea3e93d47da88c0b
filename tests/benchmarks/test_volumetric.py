"""The volumetric benchmark runs the MRI demo's rows once, in both layouts,
under bf16 autocast and in onnxruntime, and writes the table it prints."""

import argparse

import pytest
import torch
import torch._dynamo as dynamo
from tool_helpers import run_tool

pytestmark = pytest.mark.slow  # it runs a tool in a subprocess

DEMO_ROWS = [
    '3D',
    'planar 2D',
    'CAKES 2D',
    'CAKES 1,2,3D',
    'P2SC2',
    'P2SC2 deploy',
]


LAYOUTS = (
    'NCDHW',
    'channels_last_3d',
    'channels_last_3d, bf16',
    'onnxruntime',
)
TRAINED = LAYOUTS[:3]


def test_volumetric_benchmark_writes_every_layout_of_every_row(tmp_path):
    out = tmp_path / 'volumetric.md'
    result = run_tool(
        [
            '../benchmarks/volumetric.py',
            '--groups',
            'demo',
            '--repeat',
            '1',
            '--onnxruntime',
            '--bf16',
            '--threads',
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
    rows = [
        [cell.strip() for cell in line.strip('|').split('|')]
        for line in written.splitlines()
        if line.startswith('| ') and not line.startswith('| model')
    ]
    assert [(r[0], r[1]) for r in rows] == [
        (name, layout) for name in DEMO_ROWS for layout in LAYOUTS
    ]
    by_name = {(r[0], r[1]): r for r in rows}
    # params (M), GFLOPs and FLOPs / 3D, as the MRI demo's table counts them
    assert by_name['3D', 'NCDHW'][2:4] == ['0.340', '1.517']
    assert by_name['CAKES 1,2,3D', 'NCDHW'][-1] == '0.41'
    assert by_name['P2SC2', 'NCDHW'][-1] == '0.78'
    # The 3D row's fastest layout or runtime is the reference of each time
    # ratio: training step, batch-1 inference and inference at the training
    # batch. onnxruntime runs inference only.
    for column, layouts in ((5, TRAINED), (7, LAYOUTS), (9, LAYOUTS)):
        assert min(float(by_name['3D', lay][column]) for lay in layouts) == 1.0
    assert by_name['P2SC2 deploy', 'NCDHW'][4:6] == ['-', '-']
    for name in DEMO_ROWS:
        assert (
            by_name[name, 'channels_last_3d, bf16'][2:4]
            == (by_name[name, 'NCDHW'][2:4])
        )
        exported = by_name[name, 'onnxruntime']
        assert exported[2:4] == by_name[name, 'NCDHW'][2:4]
        assert exported[4:6] == ['-', '-'] and float(exported[6]) > 0


def test_compile_adds_each_channels_last_layout_compiled(benchmark_script):
    volumetric = benchmark_script('volumetric')
    args = argparse.Namespace(bf16=True, compile=True)
    chosen = volumetric.layouts(args)
    assert list(chosen) == [
        'NCDHW',
        'channels_last_3d',
        'channels_last_3d, bf16',
        'channels_last_3d, compiled',
        'channels_last_3d, bf16, compiled',
    ]
    assert chosen['NCDHW'] == torch.contiguous_format
    assert all(
        chosen[name] == torch.channels_last_3d for name in list(chosen)[1:]
    )
    plain = volumetric.layouts(argparse.Namespace(bf16=False, compile=False))
    assert list(plain) == ['NCDHW', 'channels_last_3d']


def test_a_compiled_row_infers_through_one_graph_per_shape(
    benchmark_script,
):
    """Compiled, a row times its two inferences (batch 1 and the training
    batch), each through its own compiled graph, and no training step."""
    volumetric = benchmark_script('volumetric')
    torch.manual_seed(0)
    net = torch.nn.Conv3d(1, 3, 3, padding=1)
    volume = torch.randn(2, 1, 6, 6, 6)
    labels = torch.randint(0, 3, (2, 6, 6, 6))
    dynamo.reset()
    dynamo.utils.counters.clear()
    timed = volumetric.runs(net, volume, labels, 'cpu', compiled=True)
    assert set(timed) == {'infer', 'infer_batch'}
    for _ in range(2):
        for run in timed.values():
            run()
    assert dynamo.utils.counters['stats']['unique_graphs'] == 2
    dynamo.reset()
