"""Training-step and inference time of the volumetric networks, CAKES and
PmSCn against the 3D convs they replace, in one process, on the same input.

    python benchmarks/volumetric.py [--groups demo c2fnas basicunet ...]
        [--threads 2] [--repeat 5] [--size 64] [--device cpu|cuda]
        [--onnxruntime] [--bf16] [--compile] [--out FILE]

Groups of rows, each against its first row (the network with 3D convs):

* ``demo``: the MRI demo's UNet (widths 16/32/64; batch 4, 32³ crops), with
  the ops of its five configs;
* ``c2fnas``: C2FNAS with 3D, 2D, P3D and the CAKES manual rows of Table 1
  (batch 1, ``--size``³ crops);
* ``basicunet``, ``segresnet``: MONAI's ``BasicUNet`` and ``SegResNet`` at
  their default arguments, and their CAKES 1,2,3D and P2SC2 conversions
  (batch 2, ``--size``³ crops).

Every row runs in two layouts, ``NCDHW`` and ``channels_last_3d`` (input and
weights; the segmentors' default). With ``--bf16`` each row runs a third
time, in ``channels_last_3d`` under bf16 autocast (the layout column says
``channels_last_3d, bf16``): on a CPU with AMX that is every network's
fastest setting. With ``--compile`` each ``channels_last_3d`` layout (and
its bf16 one) runs again, inference only, through ``torch.compile``
(Inductor with ``freezing``, static shapes; the layout column ends in
``, compiled``), compiled when the row is built. With ``--onnxruntime`` (CPU only; needs
the ``deploy`` extra) each row's inference also runs exported to ONNX, in
onnxruntime (the layout column says ``onnxruntime``). At batch 1 PyTorch
computes a 3D conv over a small volume with its own unvectorised kernel
rather than oneDNN's (where N, C, T and H multiply to at most 20,480 and the
kernel is at most 3 wide), which onnxruntime does not. A training step is
forward, cross-entropy against fixed random labels, backward and an Adam
update; inference is timed at batch 1 (latency) and at the training batch
(throughput), under ``torch.inference_mode``. One measure at a time, each
repetition times every (row, layout) once, in turn, after one warm-up round;
medians are reported. Each time ratio is to the group's 3D row in its
fastest layout or runtime for that measure, with the FLOPs ratio beside it.
The table is printed and written to
``benchmarks/results/volumetric_<device>.md``.
"""

import argparse
import logging
import os.path as osp
import statistics
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger
from onnxruntime_runs import onnxruntime_runs  # benchmarks/
from timing import (
    allocator_setting,
    compile_settings,
    precision,
    time_interleaved,
)  # benchmarks/

import cakes_mm  # noqa: F401
from cakes_mm.analysis import count_complexity
from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.fileio import atomic_write
from cakes_mm.models.search.paths import reserve_conv_plans
from cakes_mm.models.segmentors.data_preprocessor import channels_last_3d

RESULTS = osp.join(osp.dirname(osp.abspath(__file__)), 'results')
ALL_OPS = ['kxkxk', '1xkxk', 'kx1x1', 'kxkx1', 'kx1xk', '1xkx1', '1x1xk']
LAYOUTS = {
    'NCDHW': torch.contiguous_format,
    'channels_last_3d': torch.channels_last_3d,
}
#: (row name, op) of the MRI demo, as its configs set ``network.op``.
DEMO_OPS = [
    ('3D', dict(type='conv3d')),
    ('planar 2D', dict(type='cakes', op_set=['kxkx1'])),
    ('CAKES 2D', dict(type='cakes', op_set=['1xkxk', 'kxkx1', 'kx1xk'])),
    ('CAKES 1,2,3D', dict(type='cakes', op_set=ALL_OPS)),
    ('P2SC2', dict(type='pmscn', m=2, n=2)),
]
#: (row name, op) of Table 1's C2FNAS rows that need no searched arch.
C2FNAS_OPS = [
    ('C2FNAS 3D', dict(type='conv3d')),
    ('C2FNAS 2D', dict(type='conv2d')),
    ('C2FNAS P3D', dict(type='p3d')),
    ('CAKES 1D manual', dict(type='cakes', op_set=['1xkx1', '1x1xk'])),
    ('CAKES 2D manual', dict(type='cakes', op_set=['kxkx1', 'kx1xk'])),
    ('CAKES 1,2,3D manual', dict(type='cakes', op_set=ALL_OPS)),
]

Builder = Callable[[], nn.Module]
#: A row whose name ends so is an inference-only deploy form.
DEPLOY = 'deploy'
#: The layout column of the rows that run in onnxruntime.
ONNXRUNTIME = 'onnxruntime'
#: The layout column of the rows that run under bf16 autocast.
BF16 = 'channels_last_3d, bf16'
#: The end of the layout column of the rows that run compiled.
COMPILED = ', compiled'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--groups', nargs='+', default=list(GROUPS), choices=list(GROUPS)
    )
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--size', type=int, default=64, help='crop size of c2fnas and monai'
    )
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument(
        '--onnxruntime',
        action='store_true',
        help="also time each row's inference exported to ONNX, in "
        'onnxruntime (CPU)',
    )
    parser.add_argument(
        '--bf16',
        action='store_true',
        help='also time each row in channels_last_3d under bf16 autocast',
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help="also time each channels_last_3d row's inference compiled "
        '(Inductor, freezing)',
    )
    parser.add_argument(
        '--out',
        help='where to write the table (default: '
        'benchmarks/results/volumetric_<device>.md)',
    )
    args = parser.parse_args()
    if args.onnxruntime and args.device != 'cpu':
        parser.error('--onnxruntime runs on the CPU; use --device cpu')
    return args


def demo_rows() -> List[Tuple[str, Builder]]:
    """The MRI demo's UNet with each of its ops, and P2SC2's deploy form
    (inference only)."""
    from cakes_mm.models import UNet3D

    def build(op, deploy=False) -> nn.Module:
        net = UNet3D(3, 1, 4, op=op, features=(16, 32, 64))
        if deploy:
            net.eval().switch_to_deploy()
        return net

    rows = [(name, lambda op=op: build(op)) for name, op in DEMO_OPS]
    p2sc2 = dict(DEMO_OPS)['P2SC2']
    return rows + [(f'P2SC2 {DEPLOY}', lambda: build(p2sc2, deploy=True))]


def c2fnas_rows() -> List[Tuple[str, Builder]]:
    """C2FNAS as Table 1's configs build it, with each op."""
    from cakes_mm.models import C2FNAS

    return [
        (name, lambda op=op: C2FNAS(3, 1, 3, op=op)) for name, op in C2FNAS_OPS
    ]


def monai_rows(name: str, build: Builder) -> List[Tuple[str, Builder]]:
    """A MONAI network at its defaults, and its CAKES 1,2,3D and P2SC2
    conversions."""
    from cakes_mm.models.convert import convert_to_cakes, convert_to_pmscn

    def converted(build: Builder, convert) -> Builder:
        def make() -> nn.Module:
            net = build()
            convert(net)
            return net

        return make

    def cakes(net):
        return convert_to_cakes(net, op_set=ALL_OPS)

    def p2sc2(net):
        return convert_to_pmscn(net, m=2, n=2)

    return [
        (f'{name} 3D', build),
        (f'{name} CAKES 1,2,3D', converted(build, cakes)),
        (f'{name} P2SC2', converted(build, p2sc2)),
    ]


def basicunet_rows() -> List[Tuple[str, Builder]]:
    """MONAI's BasicUNet (instance norms) and its conversions."""
    from monai.networks.nets import BasicUNet

    return monai_rows('BasicUNet', lambda: BasicUNet(3, 1, 3))


def segresnet_rows() -> List[Tuple[str, Builder]]:
    """MONAI's SegResNet (group norms) and its conversions."""
    from monai.networks.nets import SegResNet

    return monai_rows(
        'SegResNet', lambda: SegResNet(3, in_channels=1, out_channels=3)
    )


GROUPS = {
    'demo': ('MRI demo UNet', demo_rows, 4, 32, 4),
    'c2fnas': ('C2FNAS', c2fnas_rows, 1, None, 3),
    'basicunet': ("MONAI's BasicUNet", basicunet_rows, 2, None, 3),
    'segresnet': ("MONAI's SegResNet", segresnet_rows, 2, None, 3),
}


def runs(
    net: nn.Module,
    batch: torch.Tensor,
    labels: torch.Tensor,
    device: str,
    train_too: bool = True,
    bf16: bool = False,
    compiled: bool = False,
) -> Dict[str, Callable[[], None]]:
    """Callables for one training step (unless not ``train_too`` or
    ``compiled``), one batch-1 inference (latency) and one inference of the
    whole training batch (throughput); each forward pass under bf16
    autocast if ``bf16`` (the loss in float32); inference through
    ``torch.compile`` (static shapes) if ``compiled``."""
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    inference = torch.compile(net, dynamic=False) if compiled else net

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    def train():
        net.train()
        optimizer.zero_grad(set_to_none=True)
        with precision(device, bf16):
            logits = net(batch)
        F.cross_entropy(logits.float(), labels).backward()
        optimizer.step()
        sync()

    def infer(size: int):
        net.eval()
        with torch.inference_mode(), precision(device, bf16):
            inference(batch[:size])
        sync()

    timed = {
        'infer': lambda: infer(1),
        'infer_batch': lambda: infer(len(batch)),
    }
    return dict(train=train, **timed) if train_too and not compiled else timed


def lay_out(x: torch.Tensor, layout: str) -> torch.Tensor:
    """``x`` in ``layout``, as the segmentors' preprocessor lays it out."""
    if layout.startswith('channels_last_3d'):
        return channels_last_3d(x)
    return x.contiguous(memory_format=LAYOUTS[layout])


def timed_entry(
    name: str, layout: str, timed: Dict[str, Callable], cost
) -> dict:
    """One (row, layout) to time: its calls, counts and empty times."""
    return dict(
        name=name,
        layout=layout,
        runs=timed,
        params=cost.params_m,
        gflops=cost.gflops,
        times={key: [] for key in timed},
    )


def layouts(args: argparse.Namespace) -> Dict[str, torch.memory_format]:
    """The PyTorch layouts each row runs in, by their column names: NCDHW
    and ``channels_last_3d``, then bf16 with ``--bf16``, then the
    ``channels_last_3d`` ones compiled with ``--compile``."""
    chosen = dict(LAYOUTS)
    if args.bf16:
        chosen[BF16] = torch.channels_last_3d
    if args.compile:
        chosen.update(
            {
                name + COMPILED: memory_format
                for name, memory_format in chosen.items()
                if name.startswith('channels_last_3d')
            }
        )
    return chosen


def measure(group: str, args: argparse.Namespace) -> List[dict]:
    """Build every (row, layout) of a group and time them interleaved."""
    title, rows, batch_size, size, classes = GROUPS[group]
    size = size or args.size
    torch.manual_seed(0)
    shape = (batch_size, 1, size, size, size)
    volume = torch.randn(shape, device=args.device)
    labels = torch.randint(
        0, classes, (batch_size, size, size, size), device=args.device
    )
    entries = []
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    for name, build in rows():
        torch.manual_seed(0)
        cost = count_complexity(
            build(), lambda m: m(torch.empty((1,) + shape[1:], device='meta'))
        )
        for layout, memory_format in layouts(args).items():
            net = build().to(args.device, memory_format=memory_format)
            timed = runs(
                net,
                lay_out(volume, layout),
                labels,
                args.device,
                train_too=not name.endswith(DEPLOY),
                bf16=layout.startswith(BF16),
                compiled=layout.endswith(COMPILED),
            )
            if layout.endswith(COMPILED):
                print(f'compiling {name}, {layout}...', flush=True)
                timed['infer']()
                timed['infer_batch']()
            entries.append(timed_entry(name, layout, timed, cost))
        if args.onnxruntime:
            net = build().eval()
            inputs = {'infer': volume[:1], 'infer_batch': volume}
            timed = onnxruntime_runs(net, inputs, args.threads)
            entries.append(timed_entry(name, ONNXRUNTIME, timed, cost))
        print(f'built {name}', flush=True)
    time_interleaved(entries, args.repeat, f'{group}: ')
    for entry in entries:
        entry['median'] = {
            key: statistics.median(times)
            for key, times in entry['times'].items()
        }
    return entries


def table(entries: List[dict], title: str) -> str:
    """Markdown: each row's medians and ratios to the 3D row's fastest."""
    base = [e for e in entries if e['name'] == entries[0]['name']]
    best = {
        key: min(e['median'][key] for e in base if key in e['median'])
        for key in ('train', 'infer', 'infer_batch')
    }
    lines = [
        f'**{title}**',
        '',
        '| model | layout | params (M) | GFLOPs | train step (ms) | '
        'train / 3D best | inference (ms) | inference / 3D best | '
        'inference, training batch (ms) | the same / 3D best | FLOPs / 3D |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]

    def cells(e, key):
        value = e['median'].get(key)
        if value is None:
            return '- | -'
        return f'{value * 1e3:.1f} | {value / best[key]:.2f}'

    for e in entries:
        lines.append(
            f'| {e["name"]} | {e["layout"]} | {e["params"]:.3f} | '
            f'{e["gflops"]:.3f} | {cells(e, "train")} | '
            f'{cells(e, "infer")} | {cells(e, "infer_batch")} | '
            f'{e["gflops"] / base[0]["gflops"]:.2f} |'
        )
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    silence_irrelevant_warnings()
    # Each row runs its convs in two or three layouts and dtypes, forward
    # and backward, at two batch sizes: more plans than oneDNN's default
    # cache of 1,024 keeps, which it would then keep remaking.
    reserve_conv_plans()
    torch.set_num_threads(args.threads)
    if args.compile:
        compile_settings()
    sections = [
        f'Volumetric training step and inference, {args.device}, '
        f'{args.threads} threads, {allocator_setting()}, '
        f'torch {torch.__version__}, '
        f'{args.repeat} interleaved repetitions (medians). GFLOPs: one '
        f'sample, multiply-adds.',
    ]
    for group in args.groups:
        title, _, batch_size, size, _ = GROUPS[group]
        size = size or args.size
        sections.append(
            table(
                measure(group, args),
                f'{title}: training batch {batch_size}, {size}³ crops',
            )
        )
    text = '\n\n'.join(sections) + '\n'
    print(text)
    out = args.out or osp.join(RESULTS, f'volumetric_{args.device}.md')
    atomic_write(out, text.encode())


if __name__ == '__main__':
    main()
