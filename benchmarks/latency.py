"""Latency of CAKES, the layer-wise baselines and PmSCn against mmaction2's
TSN, TSM and I3D, in one process, on the same input.

    python benchmarks/latency.py [--device cpu|cuda] [--threads 2]
        [--frames 8] [--size 224] [--repeat 5] [--batch 8] [--no-train]
        [--no-pmscn] [--onnxruntime] [--bf16] [--compile] [--only REGEX]
        [--out FILE]

Every model is built first; then, one measure at a time (latency, then
throughput, then the training step), each repetition times every model once,
in turn (interleaved), after one warm-up round, and the median and min-max
are reported. Inference is fp32, under ``torch.inference_mode``: latency at
batch 1, and throughput (clips/s) at ``--batch``; the training step is
forward, backward and an SGD update (momentum 0.9, as the configs') at
batch 2 (the configs' 8-12 clips per GPU would take minutes a step on a
CPU). TSN and TSM take the
clip's frames as a batch of 2D images, as they do in mmaction2. Extra rows
run the peers in their fastest CPU layout: TSN with weights and frames in
``channels_last`` (the layout our deploy mode uses), I3D and R3D-34 in
``channels_last_3d``, and P2SC2 likewise, also in its deploy form. The
table is printed and written to ``benchmarks/results/latency_cpu.md``
(``latency_cuda_fp32.md`` on a GPU).

Latency is that of the backbone (the 174-class head adds 0.36 M
multiply-adds); params and GFLOPs include the head, as in the paper. The
performance-priority supernet rows time a search step (one drawn op per
channel) and count the params/GFLOPs of their derived subnet.

``--bf16`` adds, for each row in a channels-last layout or deploy form, a
twin (``..., bf16``) whose forward passes run under bf16 autocast (weights
stay float32, as in mixed-precision training): on a CPU with AMX that is
each network's fastest setting.

``--compile`` adds, for each of those rows and their bf16 twins, a twin
(``..., compiled``) that runs through ``torch.compile`` (Inductor, with
``freezing``, which takes the weights as constants and folds them into
oneDNN's prepacked convs; ``dynamic=False``), inference only: freezing
applies to calls without gradients. Both shapes are compiled when the model
is built, and the compile times are listed under the table.

``--onnxruntime`` (CPU only; needs the ``deploy`` extra) adds rows that run
TSN, I3D, R3D-34 and our deploy-mode networks exported to ONNX as
``tools/deployment/export_onnx.py`` exports them (``cakes_mm.deployment``,
backbone only here, with the same threads and without spinning threads),
timed in the same interleaved repetitions, and a line with each one's
latency over its PyTorch row's.
"""

import argparse
import os.path as osp
import platform
import re
import statistics
import time
from typing import Callable, Dict, List, Tuple

import torch
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope
from onnxruntime_runs import onnxruntime_runs  # benchmarks/
from timing import (
    allocator_setting,
    compile_settings,
    precision,
    time_interleaved,
)  # benchmarks/

import cakes_mm  # noqa: F401
from cakes_mm.analysis import Complexity, model_complexity
from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.fileio import atomic_write
from cakes_mm.models.search import dump_chosen
from cakes_mm.models.search.paths import reserve_conv_plans

RESULTS = osp.join(osp.dirname(osp.abspath(__file__)), 'results')
RELEASED = [
    'CAKES12D_P',
    'CAKES12D_C',
    'CAKES23D_P',
    'CAKES23D_C',
    'CAKES123D_P',
    'CAKES123D_C',
]
PMSCN = {
    'R3D-34': dict(type='conv3d'),
    'P1SC1': dict(type='pmscn', m=1, n=1),
    'P2SC1': dict(type='pmscn', m=2, n=1),
    'P2SC2': dict(type='pmscn', m=2, n=2),
    'P2SC3': dict(type='pmscn', m=2, n=3),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--batch', type=int, default=8, help='clips per throughput call (>= 1)'
    )
    parser.add_argument(
        '--no-train', action='store_true', help='skip the training-step column'
    )
    parser.add_argument(
        '--no-pmscn', action='store_true', help='skip the PmSCn table'
    )
    parser.add_argument(
        '--only',
        help='a regular expression: time only the rows whose name it '
        'finds (the first row of each table is always kept)',
    )
    parser.add_argument(
        '--onnxruntime',
        action='store_true',
        help='also time TSN, I3D, R3D-34 and the deploy-mode nets '
        'exported to ONNX, in onnxruntime (CPU)',
    )
    parser.add_argument(
        '--bf16',
        action='store_true',
        help='also time each channels-last and deploy-form row under bf16 '
        'autocast',
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help='also time each channels-last and deploy-form row (and bf16 '
        'twin) compiled by Inductor with freezing, inference only',
    )
    parser.add_argument(
        '--out',
        help='where to write the table (default: '
        'benchmarks/results/latency_cpu.md, or latency_cuda_fp32.md)',
    )
    args = parser.parse_args()
    if args.onnxruntime and args.device != 'cpu':
        parser.error(
            '--onnxruntime times the CPU build of onnxruntime; use '
            'it with --device cpu'
        )
    if args.batch < 1:
        parser.error(f'--batch must be at least 1, got {args.batch}')
    return args


FRAMES = 'frames'  # the clip's frames as a batch of 2D images
FRAMES_NHWC = 'frames, channels_last'
CLIP = 'clip'  # (N, C, T, H, W)
CLIP_NDHWC = 'clip, channels_last_3d'
#: Memory layout of the input and the weights, by input kind.
LAYOUTS = {
    FRAMES_NHWC: torch.channels_last,
    CLIP_NDHWC: torch.channels_last_3d,
}


def video_models(frames: int) -> List[Tuple[str, dict, str]]:
    """(name, backbone config, input kind)."""
    all_3x3x3 = ((1, 1, 1), (1, 1, 1, 1), (1, 1, 1, 1, 1, 1), (1, 1, 1))
    rows = [
        ('TSN R50 (mmaction2)', dict(type='ResNet', depth=50), FRAMES),
        (
            'TSN R50 (mmaction2), channels_last',
            dict(type='ResNet', depth=50),
            FRAMES_NHWC,
        ),
        (
            'TSM R50 (mmaction2)',
            dict(type='ResNetTSM', depth=50, num_segments=frames),
            FRAMES,
        ),
        (
            'I3D R50 (mmaction2)',
            dict(
                type='ResNet3d',
                depth=50,
                pretrained=None,
                pretrained2d=False,
                conv1_kernel=(1, 7, 7),
                conv1_stride_t=1,
                pool1_stride_t=1,
                with_pool2=False,
                inflate=all_3x3x3,
                inflate_style='3x3x3',
            ),
            CLIP,
        ),
    ]
    # mmaction2's I3D in its fastest CPU layout, as TSN above.
    rows.append((f'{rows[-1][0]}, channels_last_3d', rows[-1][1], CLIP_NDHWC))
    baselines = {'c2d': 'conv2d', 'p3d': 'p3d', 'c3d': 'conv3d'}
    for arch in list(baselines) + RELEASED:
        op = (
            dict(type=baselines[arch])
            if arch in baselines
            else dict(type='cakes', arch=arch)
        )
        rows.append(
            (
                arch.upper() if len(arch) == 3 else arch,
                dict(type='CAKESResNet', op=op),
                CLIP,
            )
        )
        if arch != 'p3d':
            rows.append(
                (
                    f'{rows[-1][0]} deploy',
                    dict(type='CAKESResNet', op=op, deploy=True),
                    CLIP,
                )
            )
    # The performance-priority supernets: a training step draws one op per
    # channel; inference runs the derived arch.
    for name, ops in [
        ('12D', ['1xkxk', 'kx1x1']),
        ('123D', ['kxkxk', '1xkxk', 'kx1x1']),
    ]:
        rows.append(
            (
                f'CAKES {name} perf supernet',
                dict(
                    type='CAKESResNetSupernet',
                    op=dict(type='cakes_search', op_set=ops),
                ),
                CLIP,
            )
        )
    return rows


#: Name suffix of the rows that run in onnxruntime.
ONNXRUNTIME = ', onnxruntime'
#: Name suffix of the rows that run under bf16 autocast.
BF16 = ', bf16'
#: Name suffix of the rows that run compiled (after ``BF16`` if both).
COMPILED = ', compiled'


def onnxruntime_models(frames: int) -> List[Tuple[str, dict, str]]:
    """TSN, I3D and the deploy-mode rows of :func:`video_models`, again, to
    run exported to ONNX in onnxruntime."""
    return [
        (name + ONNXRUNTIME, cfg, kind)
        for name, cfg, kind in video_models(frames)
        if name in ('TSN R50 (mmaction2)', 'I3D R50 (mmaction2)')
        or cfg.get('deploy')
    ]


def pmscn_models(onnxruntime: bool = False) -> List[Tuple[str, dict, str]]:
    """Each PmSCn ResNet-34; R3D-34 and P2SC2 also channels_last_3d, and
    P2SC2 in deploy form (norms folded) too; with ``onnxruntime``, R3D-34
    and P2SC2's deploy form again, to run exported to ONNX."""
    rows, exported = [], []
    for name, cfg in PMSCN.items():
        backbone = dict(type='PmSCnResNet', depth=34, op=cfg, with_pool1=False)
        rows.append((name, backbone, CLIP))
        if name in ('R3D-34', 'P2SC2'):
            rows.append((f'{name}, channels_last_3d', backbone, CLIP_NDHWC))
        if name == 'R3D-34':
            exported.append((name + ONNXRUNTIME, backbone, CLIP))
        if name == 'P2SC2':
            deploy = dict(backbone, deploy=True)
            rows.append(
                (f'{name} deploy, channels_last_3d', deploy, CLIP_NDHWC)
            )
            exported.append((f'{name} deploy{ONNXRUNTIME}', deploy, CLIP))
    return rows + (exported if onnxruntime else [])


def twins(
    rows: List[Tuple[str, dict, str]], suffix: str
) -> List[Tuple[str, dict, str]]:
    """Each PyTorch row in a channels-last layout or deploy form, again,
    named with ``suffix`` (:data:`BF16`: to run under bf16 autocast;
    :data:`COMPILED`: to run compiled)."""
    return [
        (name + suffix, cfg, kind)
        for name, cfg, kind in rows
        if not name.endswith(ONNXRUNTIME)
        and not name.endswith(COMPILED)
        and (kind in LAYOUTS or cfg.get('deploy'))
    ]


def with_twins(
    rows: List[Tuple[str, dict, str]], args: argparse.Namespace
) -> List[Tuple[str, dict, str]]:
    """``rows`` and the twins ``--bf16`` and ``--compile`` ask for: bf16
    twins, then a compiled twin of each eligible row in each precision."""
    if args.bf16:
        rows = rows + twins(rows, BF16)
    if args.compile:
        rows = rows + twins(rows, COMPILED)
    return rows


def selected(rows: List[Tuple[str, dict, str]], only) -> list:
    """The first row (the table's reference) and those ``only`` finds."""
    if only is None:
        return rows
    return rows[:1] + [row for row in rows[1:] if re.search(only, row[0])]


def as_input(clip: torch.Tensor, kind: str) -> torch.Tensor:
    """A (N, C, T, H, W) clip, or its frames as (N·T, C, H, W)."""
    if kind in (CLIP, CLIP_NDHWC):
        data = clip
    else:
        n, c, t, h, w = clip.shape
        data = clip.transpose(1, 2).reshape(n * t, c, h, w)
    if kind in LAYOUTS:
        return data.contiguous(memory_format=LAYOUTS[kind])
    return data


def timers(
    backbone: torch.nn.Module,
    clip: torch.Tensor,
    kind: str,
    device: str,
    train: bool,
    batch_size: int,
    bf16: bool = False,
    compiled: bool = False,
) -> Dict[str, Callable[[], None]]:
    """Callables that run one batch-1 inference, one inference of
    ``batch_size`` clips and, unless in deploy form, not ``train`` or
    ``compiled``, one training step at batch 2; each forward pass under
    bf16 autocast if ``bf16``; inference through ``torch.compile`` (static
    shapes; it compiles at each shape's first call) if ``compiled``."""

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    single = as_input(clip[:1], kind)
    double = as_input(clip[:2], kind)
    batch = as_input(clip[:batch_size], kind)
    optimizer = torch.optim.SGD(backbone.parameters(), lr=1e-4, momentum=0.9)
    inference = (
        torch.compile(backbone, dynamic=False) if compiled else backbone
    )

    def infer(inputs: torch.Tensor):
        backbone.eval()
        with torch.inference_mode(), precision(device, bf16):
            inference(inputs)
        sync()

    def step():
        backbone.train()
        with precision(device, bf16):
            out = backbone(double)
        out.float().mean().backward()
        optimizer.step()
        # Let go of the gradients now, not at the next step: every model's
        # would otherwise stay alive while the others run.
        optimizer.zero_grad(set_to_none=True)
        sync()

    runs = {'infer': lambda: infer(single), 'batch': lambda: infer(batch)}
    if train and not compiled and not getattr(backbone, 'deploy', False):
        runs['train'] = step
    return runs


def onnxruntime_timers(
    backbone: torch.nn.Module,
    clip: torch.Tensor,
    kind: str,
    threads: int,
    batch_size: int,
) -> Dict[str, Callable[[], None]]:
    """Callables that run one batch-1 inference of the backbone, exported
    to ONNX (in deploy form where it has one), in onnxruntime, and one of
    ``batch_size`` clips (:func:`onnxruntime_runs`)."""
    backbone.eval()
    if getattr(backbone, 'deploy', False):
        backbone.switch_to_deploy()
    inputs = {
        'infer': as_input(clip[:1], kind),
        'batch': as_input(clip[:batch_size], kind),
    }
    return onnxruntime_runs(backbone, inputs, threads)


#: Each distinct (backbone config, input shape)'s count, made once.
_COSTS: Dict[str, Complexity] = {}


def complexity(cfg: dict, shape, kind: str) -> Complexity:
    """Params and GFLOPs with a 174-class linear head, as the paper counts.

    A 2D backbone is counted over the clip's frames as a batch. The count
    needs only shapes: the backbone is built on the meta device (no weight
    initialisation), once per distinct config and input shape (layouts and
    deploy forms share their config's count).
    """
    frame_shape = tuple(
        as_input(torch.empty(shape, device='meta'), kind).shape
    )
    key = repr((cfg, frame_shape))
    if key not in _COSTS:
        # A supernet is counted as its derived (initial) subnet.
        if cfg['type'] == 'CAKESResNetSupernet':
            arch = dump_chosen(MODELS.build(cfg))
            cfg = dict(type='CAKESResNet', op=dict(type='cakes', arch=arch))
        with torch.device('meta'):
            backbone = MODELS.build(cfg)
        cost = model_complexity(backbone, frame_shape)
        width = 512 if cfg['type'] == 'PmSCnResNet' else 2048
        _COSTS[key] = Complexity(
            params=cost.params + width * 174 + 174,
            flops=cost.flops + width * 174,
        )
    return _COSTS[key]


def measure(rows, shape, args) -> List[dict]:
    """Build every row, then time them interleaved (each measure after its
    own warm-up round, :func:`time_interleaved`)."""
    torch.manual_seed(0)
    clip = torch.randn(
        (max(2, args.batch),) + tuple(shape[1:]), device=args.device
    )
    entries = []
    for name, cfg, kind in rows:
        # Random weights from construction: timing needs no init_weights()
        # (mmaction2's TSM would try to download ImageNet weights there).
        backbone = MODELS.build(cfg)
        backbone.to(args.device)
        if kind in LAYOUTS:
            backbone.to(memory_format=LAYOUTS[kind])
        if name.endswith(ONNXRUNTIME):
            runs = onnxruntime_timers(
                backbone, clip, kind, args.threads, args.batch
            )
        else:
            runs = timers(
                backbone,
                clip,
                kind,
                args.device,
                not args.no_train,
                args.batch,
                bf16=name.removesuffix(COMPILED).endswith(BF16),
                compiled=name.endswith(COMPILED),
            )
        cost = complexity(
            {k: v for k, v in cfg.items() if k != 'deploy'}, shape, kind
        )
        entry = dict(
            name=name,
            runs=runs,
            params=cost.params_m,
            gflops=cost.gflops,
            times={k: [] for k in runs},
        )
        if name.endswith(COMPILED):
            print(f'compiling {name} at both batch sizes...', flush=True)
            start = time.perf_counter()
            runs['infer']()
            runs['batch']()
            entry['compile_s'] = time.perf_counter() - start
        entries.append(entry)
        print(f'built {name}', flush=True)
    time_interleaved(entries, args.repeat, '')
    return entries


def table(entries: List[dict], title: str, batch: int) -> str:
    """A Markdown table with ratios to the first row; throughput is at
    ``batch`` clips a call."""
    base = entries[0]
    base_infer = statistics.median(base['times']['infer'])
    base_batch = statistics.median(base['times']['batch'])
    base_train = statistics.median(base['times'].get('train', [float('nan')]))
    lines = [
        title,
        '',
        '| model | params (M) | GFLOPs | infer median (s) | infer '
        'min-max (s) | train step median (s) | latency ratio | FLOPs '
        f'ratio | train ratio | throughput at batch {batch} (clips/s) | '
        'throughput time ratio |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for e in entries:
        infer = statistics.median(e['times']['infer'])
        spread = (
            f'{min(e["times"]["infer"]):.3f}-{max(e["times"]["infer"]):.3f}'
        )
        train = e['times'].get('train')
        train_cell = f'{statistics.median(train):.3f}' if train else '-'
        train_ratio = (
            f'{statistics.median(train) / base_train:.2f}' if train else '-'
        )
        per_batch = statistics.median(e['times']['batch'])
        lines.append(
            f'| {e["name"]} | {e["params"]:.2f} | {e["gflops"]:.2f} | '
            f'{infer:.3f} | {spread} | {train_cell} | '
            f'{infer / base_infer:.2f} | {e["gflops"] / base["gflops"]:.2f} '
            f'| {train_ratio} | {batch / per_batch:.2f} | '
            f'{per_batch / base_batch:.2f} |'
        )
    return '\n'.join(lines)


def search_step_ratios(entries: List[dict]) -> str:
    """The performance-priority search step against the fixed C2D step
    (the search issue's bound is 1.3)."""
    steps = {
        e['name']: statistics.median(e['times']['train'])
        for e in entries
        if 'train' in e['times']
    }
    if 'C2D' not in steps:
        return ''
    ratios = [
        f'{name}: {step / steps["C2D"]:.2f}'
        for name, step in steps.items()
        if 'supernet' in name
    ]
    return (
        'Search step (forward + backward) / fixed C2D step: '
        + ', '.join(ratios)
        + '.'
    )


def compile_times(entries: List[dict]) -> str:
    """How long each compiled row took to compile, both batch sizes."""
    times = [
        f'{e["name"].removesuffix(COMPILED)}: {e["compile_s"]:.0f} s'
        for e in entries
        if 'compile_s' in e
    ]
    if not times:
        return ''
    return (
        'Compile time of the compiled rows (batch 1 and the throughput '
        'batch): ' + ', '.join(times) + '.'
    )


def onnxruntime_ratios(entries: List[dict]) -> str:
    """Each onnxruntime row's latency over its PyTorch row's."""
    medians = {
        e['name']: statistics.median(e['times']['infer']) for e in entries
    }
    ratios = [
        f'{name[: -len(ONNXRUNTIME)]}: '
        f'{medians[name] / medians[name[: -len(ONNXRUNTIME)]]:.2f}'
        for name in medians
        if name.endswith(ONNXRUNTIME) and name[: -len(ONNXRUNTIME)] in medians
    ]
    if not ratios:
        return ''
    return (
        'onnxruntime latency / PyTorch latency of the same network: '
        + ', '.join(ratios)
        + '.'
    )


def cpu_name() -> str:
    """The CPU's model name where Linux gives it, else the architecture."""
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(args) -> str:
    """The device the table was measured on, in words."""
    if args.device == 'cuda':
        return torch.cuda.get_device_name()
    return (
        f'{cpu_name()}, {torch.backends.cpu.get_cpu_capability()}, '
        f'{args.threads} threads, {allocator_setting()}'
    )


def main() -> None:
    args = parse_args()
    reserve_conv_plans()  # as the search hook does, before any conv
    torch.set_num_threads(args.threads)
    init_default_scope('mmaction')
    shape = (1, 3, args.frames, args.size, args.size)
    header = (
        f'# Latency on {args.device} ({machine(args)}), torch '
        f'{torch.__version__}, median of {args.repeat} interleaved '
        f'repetitions'
    )
    if args.compile:
        compile_settings()
    rows = with_twins(video_models(args.frames), args)
    if args.onnxruntime:
        rows += onnxruntime_models(args.frames)
    video = measure(selected(rows, args.only), shape, args)
    parts = [
        header,
        table(
            video,
            f'## Video models, {args.frames}x{args.size}², ratios to TSN',
            args.batch,
        ),
        search_step_ratios(video),
        onnxruntime_ratios(video),
        compile_times(video),
    ]
    if not args.no_pmscn:
        pmscn_rows = with_twins(pmscn_models(args.onnxruntime), args)
        pmscn = measure(
            selected(pmscn_rows, args.only),
            (1, 3, 64, 64, 64),
            args,
        )
        parts += [
            table(
                pmscn,
                '## PmSCn, 64x64² (UCF101 recipe), ratios to the 3D ResNet-34',
                args.batch,
            ),
            onnxruntime_ratios(pmscn),
            compile_times(pmscn),
        ]
    text = '\n\n'.join(part for part in parts if part) + '\n'
    print(text)
    # The GPU's own table (bf16, CUDA graphs) is benchmarks/gpu_fastest.py's.
    name = (
        'latency_cuda_fp32.md' if args.device == 'cuda' else 'latency_cpu.md'
    )
    out = args.out or osp.join(RESULTS, name)
    atomic_write(out, text)
    print(f'wrote {out}')


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main()
