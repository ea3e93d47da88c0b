"""The video demo: C2D cannot tell the direction of motion, CAKES can.

``tools/demo/run_demo.py`` calls :func:`run_video_demo`, which

1. writes the synthetic motion dataset (:mod:`cakes_mm.demo.synthetic`)
   under ``WORK_DIR/data``: mp4 clips whose classes differ only in temporal
   direction, so a frame-by-frame model is capped at 50% top-1;
2. trains each model of :data:`DEMO_MODELS` from scratch with mmengine's
   runner, in this process, into ``WORK_DIR/<key>``;
3. tests each with the config's clips per video (softmax averaged) and
   prints a table of params, GFLOPs (multiply-adds of one 8x32x32 clip) and
   top-1, then a ``recognize.py`` command to try the last model on a video.
"""

import argparse
import os.path as osp
import shlex
import time
from typing import Dict, List, Optional, Sequence

from .runs import (
    MINUTES,
    PARAMS,
    Column,
    Echo,
    Result,
    format_table,
    gflops_column,
    load_demo_config,
    train_and_test,
)
from .synthetic import DEMO_CLASS_NAMES, generate_dataset

# (key, name, config, arch from): the models trained and compared, in order.
# A row with "arch from" trains its config with ``model.backbone.op.arch``
# set to the arch_final.json that row's search exported: search -> freeze ->
# export -> retrain.
DEMO_MODELS = (
    ('c2d', 'C2D', 'c2d_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py', None),
    (
        'cakes12d',
        'CAKES 1,2D manual',
        'cakes-12d-manual_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py',
        None,
    ),
    (
        'cakes12d_search',
        'CAKES 1,2D search',
        'cakes-12d-perf-search_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py',
        None,
    ),
    (
        'cakes12d_searched',
        'CAKES 1,2D searched',
        'cakes-12d-manual_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py',
        'cakes12d_search',
    ),
)
CLIPS_PER_CLASS = dict(train=200, val=10, test=25)
QUICK_CLIPS_PER_CLASS = dict(train=4, val=2, test=2)
INPUT_SHAPE = (1, 3, 8, 32, 32)
#: The table's columns after the model names.
COLUMNS = (
    PARAMS,
    gflops_column(10, 4),
    Column('top-1 (%)', 11, 1, lambda row: row.scores['acc/top1']),
    MINUTES,
)


def arch_file(work_dir: str, arch_from: str) -> str:
    """The arch the search run ``arch_from`` exported."""
    return osp.join(work_dir, arch_from, 'arch_final.json')


def demo_config(
    config: str,
    configs_dir: str,
    work_dir: str,
    data_root: str,
    args: argparse.Namespace,
    arch_from: Optional[str] = None,
):
    """Load a demo config and point it at this run's data and work dir, and
    at the architecture exported by the search in ``arch_from``.

    Args:
        config (str): The config's file name.
        configs_dir (str): The folder holding it.
        work_dir (str): The model's work dir.
        data_root (str): The written dataset's folder.
        args (argparse.Namespace): ``work_dir``, ``seed``, ``verbose`` and
            ``quick``.
        arch_from (str, optional): The key of the search whose exported
            arch the backbone takes. Defaults to None.

    Returns:
        Config: The config to run.
    """
    cfg = load_demo_config(
        configs_dir, config, work_dir, args.seed, args.verbose
    )
    if arch_from:
        cfg.model.backbone.op.arch = arch_file(args.work_dir, arch_from)
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


def views_per_video(cfg) -> int:
    """Clips per video in the config's test pipeline."""
    return max(
        transform.get('num_clips', 1)
        for transform in cfg.test_dataloader.dataset.pipeline
    )


def video_table(results: Sequence[Result], num_test: int, views: int) -> str:
    """The demo's closing table, as text.

    Args:
        results (Sequence[Result]): The rows.
        num_test (int): Test videos.
        views (int): Clips per test video.

    Returns:
        str: The table and a line saying what its figures are.
    """
    return format_table(
        results,
        20,
        COLUMNS,
        f'GFLOPs: multiply-adds of one {INPUT_SHAPE[2]}x'
        f'{INPUT_SHAPE[3]}x{INPUT_SHAPE[4]} clip; top-1 on '
        f'{num_test} test videos, {views} clips each. A '
        f'frame-by-frame model cannot beat 50%.',
    )


def try_command(
    recognize: str, data_root: str, last: Result, arch: Optional[str]
) -> List[str]:
    """The ``recognize.py`` command that labels one test video with the
    last model.

    Args:
        recognize (str): The recognize tool's path.
        data_root (str): The written dataset's folder.
        last (Result): The last model's row.
        arch (str, optional): The arch file its backbone takes.

    Returns:
        list[str]: The command's words.
    """
    command = [
        'python',
        osp.relpath(recognize),
        osp.join(data_root, 'videos', 'test', '1_0000.mp4'),
        osp.relpath(last.config),
        last.checkpoint,
        '--label-map',
        osp.join(data_root, 'label_map.txt'),
    ]
    if arch:
        command += ['--cfg-options', 'model.backbone.op.arch=' + arch]
    return command


def run_video_demo(
    args: argparse.Namespace, configs_dir: str, recognize: str, echo: Echo
) -> Dict[str, Result]:
    """Run the whole demo (see the module doc).

    Args:
        args (argparse.Namespace): ``work_dir``, ``seed``, ``quick`` and
            ``verbose``.
        configs_dir (str): The folder of the demo configs.
        recognize (str): The path of ``tools/demo/recognize.py``, for the
            closing command.
        echo (Callable[[str], None]): Where progress lines go.

    Returns:
        dict[str, Result]: The results by model key.
    """
    started = time.monotonic()
    clips = QUICK_CLIPS_PER_CLASS if args.quick else CLIPS_PER_CLASS
    data_root = osp.join(args.work_dir, 'data')
    echo(
        f'[data] writing {len(DEMO_CLASS_NAMES)} classes x {clips} clips to '
        f'{data_root}'
    )
    generate_dataset(data_root, clips, seed=args.seed)
    echo(f'[data] done in {time.monotonic() - started:.0f}s')
    results, views = {}, None
    for key, name, config, arch_from in DEMO_MODELS:
        cfg = demo_config(
            config,
            configs_dir,
            osp.join(args.work_dir, key),
            data_root,
            args,
            arch_from,
        )
        views = views or views_per_video(cfg)
        plan = f'{cfg.train_cfg.max_epochs} epochs from configs/demo/{config}'
        results[key] = train_and_test(name, cfg, INPUT_SHAPE, plan, echo)
    echo('')
    echo(
        video_table(
            list(results.values()),
            clips['test'] * len(DEMO_CLASS_NAMES),
            views,
        )
    )
    echo(f'total time {(time.monotonic() - started) / 60:.1f} min')
    arch_from = DEMO_MODELS[-1][3]  # the retrained search result's arch
    arch = arch_file(args.work_dir, arch_from) if arch_from else None
    command = try_command(
        recognize, data_root, list(results.values())[-1], arch
    )
    echo(f'\nTry one video:\n  {shlex.join(command)}')
    return results
