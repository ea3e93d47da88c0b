"""The latency benchmark runs end to end on a tiny clip and writes the table
it prints; with ``--onnxruntime`` it adds the exported networks' rows."""

import argparse

import pytest
import torch
import torch._dynamo as dynamo
from tool_helpers import run_tool

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

ROWS = (
    [
        'TSN R50 (mmaction2)',
        'TSN R50 (mmaction2), channels_last',
        'TSM R50 (mmaction2)',
        'I3D R50 (mmaction2)',
        'I3D R50 (mmaction2), channels_last_3d',
        'C2D',
        'C2D deploy',
        'P3D',
        'C3D',
        'C3D deploy',
    ]
    + [
        f'CAKES{ops}_{prio}{suffix}'
        for ops in ['12D', '23D', '123D']
        for prio in 'PC'
        for suffix in ['', ' deploy']
    ]
    + ['CAKES 12D perf supernet', 'CAKES 123D perf supernet']
)


def table_rows(text):
    """{model: cells} of the Markdown table rows in ``text``."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip('|').split('|')]
        if line.startswith('| ') and cells[0] != 'model':
            rows[cells[0]] = cells[1:]
    return rows


def run_on_a_tiny_clip(tmp_path, *options):
    """Run the benchmark on 2x32² clips, once each; check that the printed
    table is the written one and return that table's text."""
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
            '--no-pmscn',
            '--threads',
            '1',
            *options,
            '--out',
            str(out),
        ],
        cwd=str(tmp_path),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = out.read_text()
    assert written.strip() in result.stdout  # the printed table is the file
    return written


#: The rows exported to ONNX and timed again in onnxruntime.
EXPORTED = ['TSN R50 (mmaction2)', 'I3D R50 (mmaction2)'] + [
    row for row in ROWS if row.endswith(' deploy')
]


def test_latency_benchmark_writes_every_row(tmp_path):
    """One run of every PyTorch row. One test, not a module fixture shared
    by two: xdist would run such a fixture once per worker that gets one of
    its tests, and two of these runs at once outgrow a 23 GB machine."""
    written = run_on_a_tiny_clip(tmp_path)
    rows = table_rows(written)
    assert list(rows) == ROWS
    tsn, cakes12d_c = rows['TSN R50 (mmaction2)'], rows['CAKES12D_C']
    assert tsn[5:8] == ['1.00', '1.00', '1.00']  # TSN is the reference
    assert float(tsn[8]) > 0 and tsn[9] == '1.00'  # throughput, its ratio
    assert 'throughput at batch 8 (clips/s)' in written
    assert float(rows['CAKES12D_C deploy'][8]) > 0
    # Params (M) and the FLOPs ratio of the paper's 12D-cost row (Table 3:
    # 20.5M; 29.3 / 33.0 GFLOPs), at any input size.
    assert cakes12d_c[0] == '20.50' and cakes12d_c[6] == '0.89'
    assert rows['CAKES12D_C deploy'][4] == '-'  # deploy mode cannot train
    assert (
        'Search step (forward + backward) / fixed C2D step: '
        'CAKES 12D perf supernet: ' in written
    )


def test_onnxruntime_rows_are_the_peers_and_every_deploy_row(
    benchmark_script,
):
    """--onnxruntime adds TSN, I3D and every deploy row again, from the same
    configs and inputs as their PyTorch rows."""
    latency = benchmark_script('latency')
    plain = {name: (cfg, kind) for name, cfg, kind in latency.video_models(2)}
    exported = latency.onnxruntime_models(2)
    assert len(EXPORTED) == 10  # TSN, I3D, C2D, C3D, the six released archs
    assert [name for name, _, _ in exported] == [
        f'{name}, onnxruntime' for name in EXPORTED
    ]
    for name, cfg, kind in exported:
        assert (cfg, kind) == plain[name.removesuffix(', onnxruntime')]


def test_only_times_the_rows_it_names_beside_the_reference(tmp_path):
    """With --only, the reference and the named rows; with --onnxruntime,
    a named deploy row is also run exported, as the same network."""
    written = run_on_a_tiny_clip(
        tmp_path, '--onnxruntime', '--only', '^CAKES12D_C'
    )
    rows = table_rows(written)
    assert list(rows) == [
        'TSN R50 (mmaction2)',
        'CAKES12D_C',
        'CAKES12D_C deploy',
        'CAKES12D_C deploy, onnxruntime',
    ]
    deploy = rows['CAKES12D_C deploy']
    exported = rows['CAKES12D_C deploy, onnxruntime']
    # The same network: params, GFLOPs and the FLOPs ratio.
    assert exported[:2] == deploy[:2] and exported[6] == deploy[6]
    assert float(exported[2]) > 0
    assert (
        'onnxruntime latency / PyTorch latency of the same network: '
        'CAKES12D_C deploy: ' in written
    )


def test_the_training_step_updates_the_weights(benchmark_script):
    """The timed step is forward, backward and the optimizer's update; the
    throughput call takes the batch it is given, not the whole clip."""
    latency = benchmark_script('latency')
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(3, 4, 3, padding=1)
    seen = []
    conv.register_forward_hook(lambda m, args, out: seen.append(len(out)))
    clip = torch.randn(5, 3, 2, 8, 8)
    runs = latency.timers(conv, clip, latency.CLIP, 'cpu', True, 4)
    assert set(runs) == {'infer', 'batch', 'train'}
    before = conv.weight.detach().clone()
    for run in runs.values():
        run()
    assert seen == [1, 4, 2]  # latency, throughput, training batch
    assert not torch.equal(conv.weight, before)
    # the step lets go of its gradients, so that models timed in turn do not
    # all hold theirs at once
    assert conv.weight.grad is None


def test_the_pmscn_table_runs_r3d_and_p2sc2_deploy_in_onnxruntime(
    benchmark_script,
):
    """With --onnxruntime the PmSCn table adds the 3D peer and P2SC2's
    deploy form, exported from the same configs as their PyTorch rows."""
    latency = benchmark_script('latency')
    plain = latency.pmscn_models()
    with_ort = latency.pmscn_models(onnxruntime=True)
    assert with_ort[: len(plain)] == plain
    added = {name: (cfg, kind) for name, cfg, kind in with_ort[len(plain) :]}
    by_name = {name: cfg for name, cfg, _ in plain}
    assert added == {
        'R3D-34, onnxruntime': (by_name['R3D-34'], latency.CLIP),
        'P2SC2 deploy, onnxruntime': (
            by_name['P2SC2 deploy, channels_last_3d'],
            latency.CLIP,
        ),
    }


def test_bf16_twins_are_the_channels_last_and_deploy_rows(benchmark_script):
    """--bf16 adds each PyTorch row in a channels-last layout or deploy
    form again, from the same config and input kind; not the NCDHW rows,
    the supernets or the onnxruntime rows."""
    latency = benchmark_script('latency')
    for rows in (
        latency.video_models(2) + latency.onnxruntime_models(2),
        latency.pmscn_models(onnxruntime=True),
    ):
        plain = {name: (cfg, kind) for name, cfg, kind in rows}
        twins = latency.twins(rows, latency.BF16)
        for name, cfg, kind in twins:
            assert (cfg, kind) == plain[name.removesuffix(', bf16')]
        names = [name.removesuffix(', bf16') for name, _, _ in twins]
        assert names == [
            name
            for name, cfg, kind in rows
            if ', channels_last' in name
            or (cfg.get('deploy') and not name.endswith('onnxruntime'))
        ]
    assert names == [
        'R3D-34, channels_last_3d',
        'P2SC2, channels_last_3d',
        'P2SC2 deploy, channels_last_3d',
    ]


def test_bf16_rows_run_under_autocast(benchmark_script):
    """A bf16 twin's forward passes see bf16 activations; the weights it
    updates stay float32."""
    latency = benchmark_script('latency')
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(3, 4, 3, padding=1)
    seen = []
    conv.register_forward_hook(lambda m, args, out: seen.append(out.dtype))
    clip = torch.randn(2, 3, 2, 8, 8)
    runs = latency.timers(conv, clip, latency.CLIP, 'cpu', True, 2, True)
    for run in runs.values():
        run()
    assert seen == [torch.bfloat16] * 3
    assert conv.weight.dtype == torch.float32


def test_compiled_twins_follow_every_channels_last_and_deploy_row(
    benchmark_script,
):
    """--compile adds a compiled twin of each channels-last and deploy row
    and of each bf16 twin, from the same config and input kind; with --bf16
    the fp32 and bf16 settings each get theirs."""
    latency = benchmark_script('latency')
    rows = latency.pmscn_models(onnxruntime=True)
    args = argparse.Namespace(bf16=True, compile=True)
    with_twins = latency.with_twins(rows, args)
    plain = {name: (cfg, kind) for name, cfg, kind in with_twins}
    compiled = [row for row in with_twins if row[0].endswith(', compiled')]
    for name, cfg, kind in compiled:
        assert (cfg, kind) == plain[name.removesuffix(', compiled')]
    assert [name for name, _, _ in compiled] == [
        f'{name}{bf16}, compiled'
        for bf16 in ('', ', bf16')
        for name in (
            'R3D-34, channels_last_3d',
            'P2SC2, channels_last_3d',
            'P2SC2 deploy, channels_last_3d',
        )
    ]


def test_compiled_rows_each_compile_once_per_shape_and_reuse_it(
    benchmark_script, monkeypatch
):
    """Compiled twins run their two inference calls through one compiled
    graph per input shape, reused on later rounds, and have no training
    step. Rows of one family share their ``forward``; all of them compile,
    beyond Dynamo's default limit of 8 graphs per function."""
    import torch._dynamo.config
    import torch._inductor.config

    latency = benchmark_script('latency')
    for config, name in (
        (torch._inductor.config, 'freezing'),
        (torch._dynamo.config, 'recompile_limit'),
        (torch._dynamo.config, 'accumulated_recompile_limit'),
    ):
        monkeypatch.setattr(config, name, getattr(config, name))  # undone
    latency.compile_settings()
    torch.manual_seed(0)
    clip = torch.randn(4, 3, 2, 8, 8)
    convs = [torch.nn.Conv3d(3, 4, 3, padding=1) for _ in range(5)]
    dynamo.reset()
    dynamo.utils.counters.clear()
    rows = [
        latency.timers(conv, clip, latency.CLIP, 'cpu', True, 4, compiled=True)
        for conv in convs
    ]
    assert all(set(runs) == {'infer', 'batch'} for runs in rows)
    for _ in range(2):  # the second round reuses every graph
        for runs in rows:
            runs['infer']()
            runs['batch']()
    assert dynamo.utils.counters['stats']['unique_graphs'] == 10
    assert torch._inductor.config.freezing
    dynamo.reset()
