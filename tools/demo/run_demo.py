"""The one-command demo: C2D cannot tell the direction of motion, CAKES can.

    python tools/demo/run_demo.py [--work-dir work_dirs/demo] [--quick]

1. Writes the built-in synthetic motion dataset (``cakes_mm.demo.synthetic``)
   under ``WORK_DIR/data``: mp4 clips whose classes differ only in temporal
   direction, so a frame-by-frame model is capped at 50% top-1.
2. Trains each model of :data:`DEMO_MODELS` from scratch with mmengine's
   runner, in this process, into ``WORK_DIR/<key>``.
3. Tests each with 2 clips per video (softmax averaged) and prints a table of
   params, GFLOPs (multiply-adds of one 8x32x32 clip) and top-1.

It takes about 5 minutes on 2 CPU cores (the budget is 12): one torch thread
trains while one data loader worker decodes. ``--quick`` is a smoke run (a
few clips, one epoch) for the tests.
"""

import argparse
import os
import os.path as osp
import shlex
import sys
import time
from typing import Dict, List, NamedTuple, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'demo')

# (key, name, config, arch from): the models trained and compared, in order.
# A row with "arch from" trains its config with ``model.backbone.arch`` set to
# the arch_final.json that row's search exported: search -> freeze -> export
# -> retrain.
DEMO_MODELS = (
    ('c2d', 'C2D', 'c2d_r50-w16_8x1x1_synthetic-motion.py', None),
    (
        'cakes12d',
        'CAKES 1,2D manual',
        'cakes-12d-manual_r50-w16_8x1x1_synthetic-motion.py',
        None,
    ),
    (
        'cakes12d_search',
        'CAKES 1,2D search',
        'cakes-12d-perf-search_r50-w16_8x1x1_synthetic-motion.py',
        None,
    ),
    (
        'cakes12d_searched',
        'CAKES 1,2D searched',
        'cakes-12d-manual_r50-w16_8x1x1_synthetic-motion.py',
        'cakes12d_search',
    ),
)
CLIPS_PER_CLASS = dict(train=200, val=10, test=25)
QUICK_CLIPS_PER_CLASS = dict(train=4, val=2, test=2)
INPUT_SHAPE = (1, 3, 8, 32, 32)


class Result(NamedTuple):
    """One row of the demo's table, and where the trained model is."""

    name: str
    params_m: float
    gflops: float
    top1: float
    minutes: float
    views: int
    config: str
    checkpoint: str


def parse_args(argv: List[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'demo'),
        help='where data, logs and checkpoints go (default: work_dirs/demo)',
    )
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the dataset and of training (default: 0)',
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch CPU threads (default: 1; the data '
        'loader worker takes the second core)',
    )
    parser.add_argument(
        '--quick',
        action='store_true',
        help='smoke run: a few clips per class, one epoch',
    )
    parser.add_argument(
        '--verbose',
        action='store_true',
        help="show mmengine's full INFO log on the console",
    )
    return parser.parse_args(argv)


def demo_config(
    config: str,
    work_dir: str,
    data_root: str,
    args: argparse.Namespace,
    arch_from: Optional[str] = None,
):
    """Load a demo config and point it at this run's data and work dir, and
    at the architecture exported by the search in ``arch_from``."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.work_dir = work_dir
    if arch_from:
        cfg.model.backbone.arch = osp.join(
            args.work_dir, arch_from, 'arch_final.json'
        )
    cfg.randomness = dict(seed=args.seed)
    cfg.log_level = 'INFO' if args.verbose else 'WARNING'
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.ann_file = osp.join(data_root, f'{split}.txt')
        loader.dataset.data_prefix = dict(video=data_root)
        if args.quick:  # a worker's start-up would outlast the run
            loader.num_workers = 0
            loader.persistent_workers = False
    if args.quick:
        cfg.train_cfg.max_epochs = 1
        cfg.train_cfg.val_interval = 1
        for hook in cfg.get('custom_hooks', []):
            if hook.get('freeze_at'):
                hook.freeze_at = 1
    return cfg


def train_and_test(
    key: str,
    name: str,
    config: str,
    data_root: str,
    args: argparse.Namespace,
    arch_from: Optional[str] = None,
) -> Result:
    """Train one demo model, test it with several clips, measure it."""
    from cakes_mm.analysis import model_complexity
    from cakes_mm.demo.progress import build_demo_runner, echo
    from cakes_mm.models.search import search_layers, subnet_complexity

    started = time.monotonic()
    cfg = demo_config(
        config, osp.join(args.work_dir, key), data_root, args, arch_from
    )
    echo(
        f'[{name}] training {cfg.train_cfg.max_epochs} epochs from '
        f'configs/demo/{config}'
    )
    runner = build_demo_runner(cfg, name, echo)
    runner.train()
    metrics = runner.test()
    if search_layers(runner.model):  # count the frozen subnet
        complexity = subnet_complexity(runner.model, INPUT_SHAPE)
    else:
        complexity = model_complexity(runner.model, INPUT_SHAPE)
    minutes = (time.monotonic() - started) / 60
    echo(
        f'[{name}] test top-1 {100 * metrics["acc/top1"]:.1f}% '
        f'({minutes:.1f} min in all)'
    )
    return Result(
        name,
        complexity.params_m,
        complexity.gflops,
        100 * metrics['acc/top1'],
        minutes,
        views_per_video(cfg),
        osp.join(CONFIGS, config),
        osp.join(cfg.work_dir, f'epoch_{runner.epoch}.pth'),
    )


def views_per_video(cfg) -> int:
    """Clips per video in the config's test pipeline."""
    return max(
        transform.get('num_clips', 1)
        for transform in cfg.test_dataloader.dataset.pipeline
    )


def format_table(results: List[Result], num_test: int) -> str:
    """The demo's closing table, as text."""
    lines = [
        f'{"model":<20}{"params (M)":>12}{"GFLOPs":>10}'
        f'{"top-1 (%)":>11}{"minutes":>9}'
    ]
    for row in results:
        lines.append(
            f'{row.name:<20}{row.params_m:>12.3f}{row.gflops:>10.4f}'
            f'{row.top1:>11.1f}{row.minutes:>9.1f}'
        )
    lines.append(
        f'GFLOPs: multiply-adds of one {INPUT_SHAPE[2]}x'
        f'{INPUT_SHAPE[3]}x{INPUT_SHAPE[4]} clip; top-1 on '
        f'{num_test} test videos, {results[0].views} clips each. A '
        f'frame-by-frame model cannot beat 50%.'
    )
    return '\n'.join(lines)


def main(argv: List[str]) -> Dict[str, Result]:
    """Run the demo; returns the results by model key."""
    args = parse_args(argv)
    # OpenMP threads that spin while a busy machine has descheduled their
    # siblings made a training step tens of times slower on a shared 2-core
    # machine; sleeping ones do not.
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    import torch

    torch.set_num_threads(args.threads)
    import cakes_mm  # noqa: F401  (patches mmaction2, registers the models)
    from cakes_mm.demo.progress import echo
    from cakes_mm.environment import silence_irrelevant_warnings

    if not args.verbose:
        silence_irrelevant_warnings()
    from cakes_mm.demo.synthetic import DEMO_CLASS_NAMES, generate_dataset

    started = time.monotonic()
    clips = QUICK_CLIPS_PER_CLASS if args.quick else CLIPS_PER_CLASS
    data_root = osp.join(args.work_dir, 'data')
    echo(
        f'[data] writing {len(DEMO_CLASS_NAMES)} classes x {clips} clips to '
        f'{data_root}'
    )
    generate_dataset(data_root, clips, seed=args.seed)
    echo(f'[data] done in {time.monotonic() - started:.0f}s')
    results = {
        key: train_and_test(key, name, config, data_root, args, arch_from)
        for key, name, config, arch_from in DEMO_MODELS
    }
    echo('')
    echo(
        format_table(
            list(results.values()), clips['test'] * len(DEMO_CLASS_NAMES)
        )
    )
    echo(f'total time {(time.monotonic() - started) / 60:.1f} min')
    last = list(results.values())[-1]
    arch_from = DEMO_MODELS[-1][3]  # the retrained search result's arch
    command = [
        'python',
        osp.relpath(osp.join(REPO, 'tools', 'demo', 'recognize.py')),
        osp.join(data_root, 'videos', 'test', '1_0000.mp4'),
        osp.relpath(last.config),
        last.checkpoint,
        '--label-map',
        osp.join(data_root, 'label_map.txt'),
    ]
    if arch_from:
        command += [
            '--cfg-options',
            'model.backbone.arch='
            + osp.join(args.work_dir, arch_from, 'arch_final.json'),
        ]
    echo(f'\nTry one video:\n  {shlex.join(command)}')
    return results


if __name__ == '__main__':
    main(sys.argv[1:])
