"""Training-step time of the performance-priority supernet against fixed
networks of the same width, on the same input, in one process.

    python benchmarks/search_step.py [--frames 8] [--size 112] [--batch 2]
        [--repeat 7] [--threads 2] [--device cpu|cuda] [--op-sets ...]
        [--channels-last] [--bf16]

Each step is forward + backward + SGD update of a ResNet-50 backbone.
Repetitions are interleaved across models after a warm-up, and the median
and the spread (min-max) are reported. The supernet computes one drawn op
per channel, so its step should cost about one path: the ratio to C2D is
the issue's target (<= 1.3), and the ratio to the fixed network with the
same op set split evenly shows the price of sampling itself.

With ``--channels-last``, every model also runs in ``channels_last_3d``,
and each ratio is also given with both sides at their faster layout. With
``--bf16``, every model also runs in ``channels_last_3d`` with its forward
pass under bf16 autocast (weights stay float32, as ``--amp`` trains), and
the bf16 ratios are given apart.
"""

import argparse
import copy
import math
import statistics
import time
from typing import Dict, List

import torch
from timing import allocator_setting, precision  # benchmarks/timing.py

import cakes_mm  # noqa: F401
from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.models import CAKESResNet, CAKESResNetSupernet
from cakes_mm.models.search.paths import reserve_conv_plans

OP_SETS = {
    '12d': ['1xkxk', 'kx1x1'],
    '23d': ['kxkxk', '1xkxk'],
    '123d': ['kxkxk', '1xkxk', 'kx1x1'],
}
#: The name suffix of a model run in ``channels_last_3d``.
CHANNELS_LAST = ', channels_last_3d'
#: The name suffix of a model run in ``channels_last_3d`` under bf16.
BF16 = CHANNELS_LAST + ', bf16'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=112)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--op-sets', nargs='+', default=list(OP_SETS), choices=list(OP_SETS)
    )
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='also run every model in channels_last_3d',
    )
    parser.add_argument(
        '--bf16',
        action='store_true',
        help='also run every model in channels_last_3d under bf16 autocast',
    )
    return parser.parse_args()


def models(op_sets):
    """(name, backbone) pairs: C2D, then per op set fixed and supernet."""
    yield 'C2D (fixed)', CAKESResNet(op=dict(type='conv2d'))
    for key in op_sets:
        yield (
            f'{key} uniform (fixed)',
            CAKESResNet(op=dict(type='cakes', op_set=OP_SETS[key])),
        )
        yield (
            f'{key} perf supernet',
            CAKESResNetSupernet(
                op=dict(type='cakes_search', op_set=OP_SETS[key])
            ),
        )


def step_fn(backbone, clip, device, bf16=False):
    """One SGD training step of ``backbone`` on ``clip``, its forward pass
    under bf16 autocast if ``bf16``."""
    optimizer = torch.optim.SGD(backbone.parameters(), lr=1e-3, momentum=0.9)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with precision(device, bf16):
            out = backbone(clip)
        out.float().mean().backward()
        optimizer.step()
        if device == 'cuda':
            torch.cuda.synchronize()

    return step


def main() -> None:
    args = parse_args()
    reserve_conv_plans()  # as the search hook does, before any conv
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clip = torch.randn(
        args.batch, 3, args.frames, args.size, args.size, device=args.device
    )
    layouts = {'': torch.contiguous_format}
    if args.channels_last:
        layouts[CHANNELS_LAST] = torch.channels_last_3d
    if args.bf16:
        layouts[BF16] = torch.channels_last_3d
    steps = {}
    for name, backbone in models(args.op_sets):
        backbone.init_weights()
        backbone.to(args.device).train()
        for suffix, layout in layouts.items():
            net = backbone if not suffix else copy.deepcopy(backbone)
            net.to(memory_format=layout)
            inputs = clip.contiguous(memory_format=layout)
            steps[name + suffix] = step_fn(
                net, inputs, args.device, bf16=suffix == BF16
            )
            steps[name + suffix]()  # warm-up
    times = {name: [] for name in steps}
    for r in range(args.repeat):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
        print(f'repetition {r + 1}/{args.repeat} done', flush=True)
    base = statistics.median(times['C2D (fixed)'])
    print(
        f'\nTraining step, batch {args.batch}, {args.frames}x{args.size}², '
        f'{args.device}, {args.threads} threads, {allocator_setting()}, '
        f'median of {args.repeat}'
    )
    print(
        '| model | median (s) | min-max (s) | ratio to C2D | ratio to '
        'fixed same op set |'
    )
    print('|---|---|---|---|---|')
    for name, values in times.items():
        median = statistics.median(values)
        fixed = name.replace('perf supernet', 'uniform (fixed)')
        same = (
            f'{median / statistics.median(times[fixed]):.2f}'
            if fixed != name
            else ''
        )
        print(
            f'| {name} | {median:.3f} | {min(values):.3f}-'
            f'{max(values):.3f} | {median / base:.2f} | {same} |'
        )
    if args.channels_last:
        print(best_layout_ratios(times))
    if args.bf16:
        print(bf16_ratios(times))


def best_layout_ratios(times: Dict[str, List[float]]) -> str:
    """Each model's median float32 step at its faster layout, over C2D's at
    its faster layout.

    Args:
        times (dict[str, list[float]]): Step times by row name.

    Returns:
        str: One line for all models.
    """
    best = {}
    for name, values in times.items():
        if name.endswith(BF16):
            continue
        model = name.removesuffix(CHANNELS_LAST)
        best[model] = min(best.get(model, math.inf), statistics.median(values))
    base = best['C2D (fixed)']
    return '\nEach at its faster layout, ratio to C2D: ' + ', '.join(
        f'{model} {step / base:.2f}' for model, step in best.items()
    )


def bf16_ratios(times: Dict[str, List[float]]) -> str:
    """Each model's median bf16 step over C2D's bf16 step.

    Args:
        times (dict[str, list[float]]): Step times by row name.

    Returns:
        str: One line for all models.
    """
    steps = {
        name.removesuffix(BF16): statistics.median(values)
        for name, values in times.items()
        if name.endswith(BF16)
    }
    base = steps['C2D (fixed)']
    return 'In bf16 (channels_last_3d), ratio to C2D: ' + ', '.join(
        f'{model} {step / base:.2f}' for model, step in steps.items()
    )


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main()
