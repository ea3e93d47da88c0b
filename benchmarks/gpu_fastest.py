"""Every row in the fastest GPU setting we know, in one process, on the same
input: the GPU half of the speed comparison.

    python benchmarks/gpu_fastest.py [--device cuda|cpu] [--batch 8]
        [--repeat 7] [--replays 5] [--budget 480]
        [--groups video pmscn search volumetric] [--out FILE]

The setting is the same for every row, ours and the peers':

* bf16 autocast (weights stay fp32, as mixed-precision training keeps them);
* cuDNN autotuning (``torch.backends.cudnn.benchmark``);
* ``channels_last_3d`` (``channels_last`` for 2D networks); the peers (TSN,
  I3D, R3D-34 and each volumetric group's 3D row) also run in the default
  layout, and the faster of their two layouts is the reference;
* CUDA graphs: each inference and each training step is captured once and
  replayed, so Python and kernel launches cost nothing. A row that cannot be
  captured (the performance-priority search step, whose shapes change with
  every drawn path) runs eagerly, and its row says so.

Three measures per row: ``latency``, a batch-1 inference; ``throughput``, an
inference at ``--batch`` (clips or volumes per second); ``train``, forward,
a mean (video) or cross-entropy (volumetric) loss, backward and an SGD
update at ``--batch``. One measure at a time, each repetition times
every row in turn (interleaved), each time over ``--replays`` calls;
medians are reported, with every time ratio to the group's reference
beside its FLOPs ratio.

Groups, in the order they run (a row is skipped, and listed so, once
``--budget`` seconds have passed):

* ``video``: TSN and I3D as mmaction2 builds them, C2D, and the six released
  CAKES archs, in eval and in deploy form, on 8x224² clips;
* ``pmscn``: R3D-34 and P2SC2 (eval and deploy) on 64x64² clips of 64
  frames (the UCF101 recipe);
* ``search``: a fixed C2D training step against the performance-priority
  supernets' search steps, 8x224²;
* ``volumetric``: the MRI demo's UNet rows (32³), C2FNAS rows (64³) and
  MONAI's BasicUNet and SegResNet with their conversions (64³).

With ``--device cpu`` the same code runs eagerly on tiny inputs (and the
search group on narrow networks): that is the
script's own check before it is spent on a GPU, not a measurement. The table
is printed and written to ``benchmarks/results/latency_cuda.md`` (or
``--out``), and the profile of the last search row beside it.
"""

import argparse
import logging
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from latency import (  # benchmarks/latency.py
    CLIP,
    FRAMES,
    PMSCN,
    as_input,
    complexity,
    video_models,
)
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from timing import time_interleaved  # benchmarks/timing.py
from volumetric import (  # benchmarks/volumetric.py
    basicunet_rows,
    c2fnas_rows,
    demo_rows,
    segresnet_rows,
)

import cakes_mm  # noqa: F401
from cakes_mm.analysis import count_complexity
from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.fileio import atomic_write
from cakes_mm.models.search import (
    draw_paths_before_calls,
    search_layers,
    share_path_generator,
)

RESULTS = osp.join(osp.dirname(osp.abspath(__file__)), 'results')
MEASURES = ('latency', 'throughput', 'train')
#: The peers, timed in both layouts.
PEERS = ('TSN R50 (mmaction2)', 'I3D R50 (mmaction2)', 'R3D-34')
#: The video rows kept from benchmarks/latency.py (eval and deploy forms).
VIDEO_ROWS = (
    'TSN R50 (mmaction2)',
    'I3D R50 (mmaction2)',
    'C2D',
    'C2D deploy',
    'CAKES12D_P deploy',
    'CAKES12D_C',
    'CAKES12D_C deploy',
    'CAKES23D_P deploy',
    'CAKES23D_C deploy',
    'CAKES123D_P',
    'CAKES123D_P deploy',
    'CAKES123D_C deploy',
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--replays', type=int, default=5)
    parser.add_argument(
        '--budget',
        type=float,
        default=480.0,
        help='seconds after which no further row is built',
    )
    parser.add_argument(
        '--groups',
        nargs='+',
        default=['video', 'pmscn', 'search', 'volumetric'],
        choices=['video', 'pmscn', 'search', 'volumetric'],
    )
    parser.add_argument(
        '--out',
        help='where to write the table (default on a GPU: '
        'benchmarks/results/latency_cuda.md; needed with --device cpu)',
    )
    args = parser.parse_args()
    if args.device == 'cpu' and not args.out:
        parser.error('--device cpu checks the script: give --out')
    return args


class Setting:
    """The device, the sizes and the clock of one run.

    Args:
        args (argparse.Namespace): The parsed arguments.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.device = args.device
        self.cuda = args.device == 'cuda'
        self.batch = args.batch
        self.replays = args.replays
        self.budget = args.budget
        self.start = time.perf_counter()
        self.skipped: List[str] = []
        #: What went otherwise than planned, a line per row.
        self.notes: List[str] = []
        #: Profiler tables, written beside the results.
        self.profiles: List[str] = []
        #: The row being built, for the notes.
        self.row = ''
        # Tiny inputs on the CPU: the script's check, not a measurement.
        self.frames, self.size = (8, 224) if self.cuda else (2, 32)
        self.pmscn_shape = (64, 64) if self.cuda else (4, 16)
        self.volume = (
            {'demo': 32, 'big': 64}
            if self.cuda
            else {
                'demo': 16,
                'big': 32,
            }
        )

    def over_budget(self, name: str) -> bool:
        """Whether time is up; the row is then listed as skipped. Else
        ``name`` is the row being built."""
        self.row = name
        if time.perf_counter() - self.start > self.budget:
            self.skipped.append(name)
            return True
        return False

    def autocast(self):
        """bf16 autocast without its weight cache (which graphs refuse)."""
        return torch.autocast(
            self.device, dtype=torch.bfloat16, cache_enabled=False
        )

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def captured(self, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` captured in a CUDA graph (after three warm-up calls on a
        side stream, as capture needs); on the CPU, ``fn`` itself after one
        warm-up call."""
        if not self.cuda:
            fn()
            return fn
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                fn()
        except Exception as error:  # the row runs eagerly, and says why
            self.notes.append(f'{self.row}: eager, capture failed ({error})')
            torch.cuda.synchronize()
            return fn

        def replay(graph=graph, fn=fn) -> None:
            # ``fn`` holds what the graph reads and writes (the network,
            # its input, the optimizer): dropping it would free that memory
            # under the graph.
            graph.replay()

        return replay

    def repeated(self, fn: Callable[[], None]) -> Callable[[], None]:
        """``--replays`` calls of ``fn``, then a synchronisation."""

        def run() -> None:
            for _ in range(self.replays):
                fn()
            self.sync()

        return run


def measures(
    net: nn.Module,
    single: Optional[torch.Tensor],
    batch: torch.Tensor,
    loss: Optional[Callable[[torch.Tensor], torch.Tensor]],
    setting: Setting,
    graphs: bool = True,
    before_step: Optional[Callable[[], None]] = None,
) -> Dict[str, Callable[[], None]]:
    """The timed callables of one row.

    Args:
        net (nn.Module): The network, on the device, in its layout.
        single (torch.Tensor, optional): The batch-1 input; None to time
            training alone.
        batch (torch.Tensor): The batch input.
        loss (callable, optional): Output -> scalar loss; None for an
            inference-only (deploy) row.
        setting (Setting): The run's setting.
        graphs (bool): Whether the training step may be captured.
        before_step (callable, optional): Run before each training step,
            outside its graph (a supernet's path drawing).

    Returns:
        dict: ``measure -> callable`` (each runs ``--replays`` calls).
    """

    def infer(x: torch.Tensor) -> Callable[[], None]:
        def run() -> None:
            net.eval()  # (a graph keeps the mode it was captured in)
            with torch.inference_mode(), setting.autocast():
                net(x)

        return run

    runs = {}
    if single is not None:
        runs['latency'] = setting.captured(infer(single))
        runs['throughput'] = setting.captured(infer(batch))
    if loss is not None:
        optimizer = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)

        def step() -> None:
            net.train()
            optimizer.zero_grad(set_to_none=True)
            with setting.autocast():
                value = loss(net(batch))
            value.backward()
            optimizer.step()

        if graphs:
            runs['train'] = setting.captured(step)
        else:
            runs['train'] = without_autotuning(step)
            runs['train']()
        if before_step is not None:
            runs['train'] = after(before_step, runs['train'])
    return {key: setting.repeated(run) for key, run in runs.items()}


def after(first: Callable[[], None], then: Callable[[], None]):
    """A callable that runs ``first``, then ``then``."""

    def run() -> None:
        first()
        then()

    return run


def without_autotuning(fn: Callable[[], None]) -> Callable[[], None]:
    """``fn`` with cuDNN autotuning off: an eager search step meets new
    conv shapes in every step, and would autotune each of them."""

    def run() -> None:
        tuned = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = False
        try:
            fn()
        finally:
            torch.backends.cudnn.benchmark = tuned

    return run


def entry(name: str, layout: str, runs: dict, batch: int, cost=None) -> dict:
    """A row of the table, with empty time lists.

    Args:
        name (str): The row's name.
        layout (str): ``'channels_last'`` or ``'default'``.
        runs (dict): ``measure -> callable``.
        batch (int): The batch of the throughput and training measures.
        cost (Complexity, optional): Params and FLOPs; None where the row
            has no single count (a search step).
    """
    return dict(
        name=name,
        layout=layout,
        runs=runs,
        batch=batch,
        params=cost.params_m if cost else None,
        gflops=cost.gflops if cost else None,
        times={key: [] for key in runs},
    )


def video_group(setting: Setting, names=VIDEO_ROWS) -> List[dict]:
    """TSN, I3D, C2D and the CAKES archs on 8x224² clips."""
    rows = {name: (cfg, kind) for name, cfg, kind in video_models(8)}
    shape = (setting.batch, 3, setting.frames, setting.size, setting.size)
    return backbone_entries(
        [(name,) + rows[name] for name in names], shape, setting
    )


def pmscn_group(setting: Setting) -> List[dict]:
    """R3D-34 and P2SC2, eval and deploy, on the UCF101 recipe's clips."""
    frames, size = setting.pmscn_shape
    base = dict(type='PmSCnResNet', depth=34, with_pool1=False)
    rows = [
        ('R3D-34', dict(base, op=PMSCN['R3D-34']), CLIP),
        ('P2SC2', dict(base, op=PMSCN['P2SC2']), CLIP),
        ('P2SC2 deploy', dict(base, op=PMSCN['P2SC2'], deploy=True), CLIP),
    ]
    return backbone_entries(
        rows, (setting.batch, 3, frames, size, size), setting
    )


def backbone_entries(rows, shape, setting: Setting) -> List[dict]:
    """Build, capture and list the (row, layout) entries of backbones."""
    torch.manual_seed(0)
    clip = torch.randn(shape, device=setting.device)
    entries = []
    for name, cfg, kind in rows:
        if setting.over_budget(name):
            continue
        deploy = bool(cfg.get('deploy'))
        cost = complexity(
            {k: v for k, v in cfg.items() if k != 'deploy'},
            (1,) + shape[1:],
            kind,
        )
        two_d = kind == FRAMES
        formats = {
            'channels_last': torch.channels_last_3d
            if not two_d
            else torch.channels_last
        }
        if name in PEERS:
            formats['default'] = torch.contiguous_format
        for layout, memory_format in formats.items():
            torch.manual_seed(0)
            net = lay_out(MODELS.build(cfg).to(setting.device), layout)
            single, batch = (
                as_input(x, kind).contiguous(memory_format=memory_format)
                for x in (clip[:1], clip)
            )
            loss = None if deploy else mean_loss
            runs = measures(net, single, batch, loss, setting)
            entries.append(entry(name, layout, runs, shape[0], cost))
        print(f'built {name}', flush=True)
    return entries


def lay_out(net: nn.Module, layout: str) -> nn.Module:
    """``net`` with its conv weights in ``layout``: channels-last for
    ``'channels_last'`` (``channels_last_3d`` for 3D convs), untouched for
    ``'default'``. A deploy form may hold 2D and 3D convs side by side,
    which ``nn.Module.to(memory_format=...)`` refuses."""
    if layout == 'default':
        return net
    formats = {
        nn.Conv2d: torch.channels_last,
        nn.Conv3d: torch.channels_last_3d,
    }
    with torch.no_grad():
        for module in net.modules():
            memory_format = formats.get(type(module))
            if memory_format is not None:
                module.weight.data = module.weight.data.contiguous(
                    memory_format=memory_format
                )
    return net


def mean_loss(output) -> torch.Tensor:
    """The mean of a backbone's output (the last stage's, if several)."""
    if isinstance(output, (tuple, list)):
        output = output[-1]
    return output.float().mean()


def search_group(setting: Setting) -> List[dict]:
    """The fixed C2D training step against the search steps of the
    performance-priority supernets: each drawn path as one conv over the
    ops' box (the GPU default), eagerly and replayed from a CUDA graph
    (the paths drawn before each replay), and as one conv per op over its
    drawn channels (the CPU default; its shapes change with every path,
    so it runs eagerly)."""
    # The CPU check builds narrow networks: what it checks is the code path.
    narrow = {} if setting.cuda else dict(base_channels=8)
    c2d = dict(type='CAKESResNet', op=dict(type='conv2d'), **narrow)
    rows = [('C2D', c2d, True, None), ('C2D, eager', c2d, False, None)]
    for name, ops in [
        ('12D', ['1xkxk', 'kx1x1']),
        ('123D', ['kxkxk', '1xkxk', 'kx1x1']),
    ]:
        op = dict(type='cakes_search', op_set=ops, mode='performance')
        cfg = dict(type='CAKESResNetSupernet', op=op, **narrow)
        rows += [
            (
                f'CAKES {name} search step, one conv, CUDA graph',
                cfg,
                True,
                True,
            ),
            (f'CAKES {name} search step, one conv, eager', cfg, False, True),
            (
                f'CAKES {name} search step, conv per op, eager',
                cfg,
                False,
                False,
            ),
        ]
    shape = (setting.batch, 3, setting.frames, setting.size, setting.size)
    torch.manual_seed(0)
    clip = torch.randn(shape, device=setting.device).contiguous(
        memory_format=torch.channels_last_3d
    )
    entries = []
    for name, cfg, graphs, dense in rows:
        if setting.over_budget(name):
            continue
        torch.manual_seed(0)
        net = lay_out(MODELS.build(cfg).to(setting.device), 'channels_last')
        draw = None
        if dense is not None:
            share_path_generator(net, seed=0)
            for _, layer in search_layers(net):
                layer.dense_paths = dense
            if graphs:
                draw = draw_paths_before_calls(net)
        runs = measures(net, None, clip, mean_loss, setting, graphs, draw)
        entries.append(entry(name, 'channels_last', runs, shape[0]))
        print(f'built {name}', flush=True)
    if entries:
        setting.profiles.append(profile(entries[-1], setting))
    return entries


def profile(row: dict, setting: Setting) -> str:
    """Where one call of a row's first measure spends its time: the
    profiler's top operators by device (or CPU) time, and the host's
    total."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if setting.cuda:
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    run = next(iter(row['runs'].values()))
    with torch.profiler.profile(activities=activities) as prof:
        run()
    sort = 'cuda_time_total' if setting.cuda else 'cpu_time_total'
    return f'## {row["name"]}\n\n' + prof.key_averages().table(
        sort_by=sort, row_limit=15
    )


def volumetric_group(setting: Setting) -> List[dict]:
    """The volumetric rows: (group title, its entries) flattened, each
    entry carrying its group's reference name."""
    groups = [
        ('demo', demo_rows(), setting.volume['demo'], 4),
        ('c2fnas', c2fnas_rows(), setting.volume['big'], 3),
        ('basicunet', basicunet_rows(), setting.volume['big'], 3),
        ('segresnet', segresnet_rows(), setting.volume['big'], 3),
    ]
    entries = []
    batch = setting.batch
    for group, rows, size, classes in groups:
        torch.manual_seed(0)
        shape = (batch, 1, size, size, size)
        volume = torch.randn(shape, device=setting.device)
        labels = torch.randint(
            0, classes, (batch, size, size, size), device=setting.device
        )

        def loss(output, labels=labels) -> torch.Tensor:
            return F.cross_entropy(output.float(), labels)

        for index, (name, build) in enumerate(rows):
            if setting.over_budget(name):
                continue
            deploy = name.endswith('deploy')
            torch.manual_seed(0)
            cost = count_complexity(
                build(),
                lambda m: m(torch.empty((1,) + shape[1:], device='meta')),
            )
            formats = {'channels_last': torch.channels_last_3d}
            if index == 0:
                formats['default'] = torch.contiguous_format
            for layout, memory_format in formats.items():
                torch.manual_seed(0)
                net = lay_out(build().to(setting.device), layout)
                data = volume.contiguous(memory_format=memory_format)
                runs = measures(
                    net, data[:1], data, None if deploy else loss, setting
                )
                row = entry(name, layout, runs, batch, cost)
                row['group'] = group
                entries.append(row)
            print(f'built {name}', flush=True)
    return entries


def medians(entries: List[dict]) -> Dict[str, Dict[str, float]]:
    """Each row's fastest layout per measure: ``name -> measure -> s``."""
    best: Dict[str, Dict[str, float]] = {}
    for e in entries:
        row = best.setdefault(e['name'], {})
        for key, times in e['times'].items():
            value = statistics.median(times)
            row[key] = min(row.get(key, value), value)
    return best


def layouts(entries: List[dict]) -> Dict[str, Dict[str, str]]:
    """The layout that gave each row's fastest time, per measure."""
    chosen: Dict[str, Dict[str, tuple]] = {}
    for e in entries:
        row = chosen.setdefault(e['name'], {})
        for key, times in e['times'].items():
            value = statistics.median(times)
            if key not in row or value < row[key][0]:
                row[key] = (value, e['layout'])
    return {
        name: {key: pair[1] for key, pair in row.items()}
        for name, row in chosen.items()
    }


def table(entries: List[dict], title: str, replays: int) -> str:
    """A Markdown table against the first row: milliseconds per call (clips
    per second for throughput), the layout that won, the time ratios and
    the FLOPs ratio."""
    if not entries:
        return ''
    best, won = medians(entries), layouts(entries)
    names = list(dict.fromkeys(e['name'] for e in entries))
    info = {e['name']: e for e in entries}
    ref = best[names[0]]
    ref_flops = info[names[0]]['gflops']
    lines = [
        title,
        '',
        '| model | params (M) | GFLOPs | latency (ms) | throughput '
        '(per s) | train step (ms) | layout | latency ratio | throughput '
        'ratio | train ratio | FLOPs ratio |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]

    def cell(value: Optional[float], fmt: str) -> str:
        return '-' if value is None else format(value, fmt)

    for name in names:
        row, e = best[name], info[name]
        ms = {k: row[k] / replays * 1e3 for k in row}
        throughput = (
            e['batch'] / (ms['throughput'] / 1e3)
            if 'throughput' in ms
            else None
        )
        ratios = {
            k: row[k] / ref[k] if k in ref and k in row else None
            for k in MEASURES
        }
        # Throughput ratio: reference time / this time (above 1 is faster);
        # latency and train: this time / reference time.
        if ratios['throughput'] is not None:
            ratios['throughput'] = 1 / ratios['throughput']
        flops = (
            e['gflops'] / ref_flops
            if e['gflops'] is not None and ref_flops
            else None
        )
        lines.append(
            f'| {name} | {cell(e["params"], ".2f")} | '
            f'{cell(e["gflops"], ".2f")} | {cell(ms.get("latency"), ".2f")} | '
            f'{cell(throughput, ".1f")} | {cell(ms.get("train"), ".2f")} | '
            f'{"/".join(sorted(set(won[name].values())))} | '
            f'{cell(ratios["latency"], ".2f")} | '
            f'{cell(ratios["throughput"], ".2f")} | '
            f'{cell(ratios["train"], ".2f")} | {cell(flops, ".2f")} |'
        )
    return '\n'.join(lines)


GROUPS = {
    'video': (video_group, 'Video, 8x224², ratios to TSN'),
    'pmscn': (pmscn_group, 'PmSCn, 64x64², ratios to R3D-34'),
    'search': (search_group, 'Search step, ratios to the C2D step'),
}


def group_tables(
    group: str, setting: Setting, args: argparse.Namespace
) -> List[str]:
    """Build and time one group; its table(s)."""
    if group != 'volumetric':
        build, title = GROUPS[group]
        entries = build(setting)
        time_interleaved(entries, args.repeat, f'{group}: ')
        return [table(entries, f'## {title}', args.replays)]
    entries = volumetric_group(setting)
    time_interleaved(entries, args.repeat, 'volumetric: ')
    return [
        table(
            [e for e in entries if e['group'] == sub],
            f'## Volumetric: {sub}, ratios to its 3D row',
            args.replays,
        )
        for sub in dict.fromkeys(e['group'] for e in entries)
    ]


def main() -> None:
    args = parse_args()
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    if args.device == 'cuda':
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(2)
    init_default_scope('mmaction')
    setting = Setting(args)
    device = (
        torch.cuda.get_device_name() if setting.cuda else 'CPU (script check)'
    )
    parts = [
        f'# Fastest setting on {args.device} ({device}), torch '
        f'{torch.__version__}: bf16 autocast, cuDNN autotuning, CUDA graphs, '
        f'median of {args.repeat} interleaved repetitions of {args.replays} '
        f'calls'
    ]
    out = args.out or osp.join(RESULTS, 'latency_cuda.md')
    for group in args.groups:
        try:
            parts += group_tables(group, setting, args)
        except Exception as error:  # the other groups still run
            setting.notes.append(f'group {group} failed: {error!r}')
        text = '\n\n'.join(p for p in parts if p)
        if setting.skipped:
            text += '\n\nSkipped (over budget): ' + ', '.join(setting.skipped)
        if setting.notes:
            text += '\n\nNotes:\n' + '\n'.join(f'- {n}' for n in setting.notes)
        atomic_write(out, text + '\n')
        print(text, flush=True)
        if setting.profiles:
            atomic_write(out + '.profile.txt', '\n\n'.join(setting.profiles))
        if setting.cuda:
            torch.cuda.empty_cache()
    print(f'wrote {out}')


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main()
