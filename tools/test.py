"""Test a checkpoint on a config's test set, the mmaction2 way.

Usage::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--dump results.pkl] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm}] [--num-clips N]
        [--num-crops {1,3}] [--deploy]

``--num-clips`` and ``--num-crops`` turn on multi-view testing: each video
is seen as clips x crops views, their softmax scores are averaged
(``average_clips='prob'`` unless the head sets another mode) and each
video keeps its own views, in any batch size. When the model's
``test_cfg.max_testing_views`` is set, the backbone sees at most that many
views at a time and the test batch size becomes 1, as mmaction2's
Recognizer3D requires.

The checkpoint may be an mmengine/mmaction2 file (weights under
``state_dict``), a bare state dict, or weights under ``model``; ``module.``
prefixes are removed. Every key of the model must be in it with the same
shape, and nothing else: otherwise the run stops naming the first key that
does not fit and both shapes.
"""

import argparse
from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from cakes_mm.apis.runner import (
    add_common_args,
    build_runner,
    leave_process_group,
    load_config,
    run_reporting_bad_input,
)
from cakes_mm.checkpoint.fit_check import check_checkpoints_fit
from cakes_mm.environment import silence_irrelevant_warnings

#: Test-time frame samplers whose ``num_clips`` --num-clips sets.
SAMPLERS = (
    'SampleFrames',
    'UniformSample',
    'UniformSampleFrames',
    'DenseSampleFrames',
)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--dump',
        metavar='FILE.pkl',
        help='also write every prediction to this pickle file',
    )
    parser.add_argument(
        '--num-clips',
        type=int,
        metavar='N',
        help='clips per video: sets num_clips of the test sampler',
    )
    parser.add_argument(
        '--num-crops',
        type=int,
        choices=[1, 3],
        help='crops per clip: 3 resizes the short side to the crop size '
        'and takes three crops along the long side; 1 takes the centre crop',
    )
    parser.add_argument(
        '--deploy',
        action='store_true',
        help="call the backbone's switch_to_deploy() after loading the "
        'checkpoint',
    )
    args = parser.parse_args(argv)
    if args.num_clips is not None and args.num_clips < 1:
        parser.error('--num-clips must be at least 1')
    if args.dump and not args.dump.endswith(('.pkl', '.pickle')):
        parser.error('--dump must name a .pkl or .pickle file')
    return args


def transform_index(pipeline: List[dict], types: tuple) -> Optional[int]:
    """Index of the first transform whose type is one of ``types``."""
    return next(
        (
            i
            for i, step in enumerate(pipeline)
            if str(step.get('type')).split('.')[-1] in types
        ),
        None,
    )


def set_num_clips(pipeline: List[dict], num_clips: int) -> None:
    """Set the test sampler's ``num_clips``."""
    index = transform_index(pipeline, SAMPLERS)
    if index is None:
        raise SystemExit(
            f'error: --num-clips: the test pipeline has no '
            f'frame sampler ({", ".join(SAMPLERS)})'
        )
    pipeline[index]['num_clips'] = num_clips


def square_crop_size(step: dict) -> int:
    """The side of a square crop transform's crop."""
    size = step['crop_size']
    if isinstance(size, int):
        return size
    if len(size) == 2 and size[0] == size[1]:
        return int(size[0])
    raise SystemExit(
        f'error: --num-crops needs a square crop, the test '
        f'pipeline crops {tuple(size)}'
    )


def set_num_crops(pipeline: List[dict], num_crops: int) -> None:
    """Switch between one centre crop and three crops.

    Three crops: the ``CenterCrop`` becomes a ``ThreeCrop`` of the same
    size, and the ``Resize`` before it resizes the short side to that size,
    so the three crops span the long side. One crop: a ``ThreeCrop``
    becomes a ``CenterCrop`` of the same size.
    """
    old, new = (
        ('CenterCrop', 'ThreeCrop')
        if num_crops == 3
        else ('ThreeCrop', 'CenterCrop')
    )
    if transform_index(pipeline, (new,)) is not None:
        return
    index = transform_index(pipeline, (old,))
    if index is None:
        raise SystemExit(
            f'error: --num-crops {num_crops}: the test pipeline '
            f'has no {old} to replace'
        )
    size = square_crop_size(pipeline[index])
    pipeline[index] = dict(type=new, crop_size=size)
    if num_crops == 3:
        resize = transform_index(pipeline[:index][::-1], ('Resize',))
        if resize is None:
            raise SystemExit(
                'error: --num-crops 3: no Resize before the '
                'CenterCrop to resize the short side with'
            )
        pipeline[index - 1 - resize].update(scale=(-1, size), keep_ratio=True)


def apply_view_args(cfg: Config, args: argparse.Namespace) -> None:
    """Apply ``--num-clips``/``--num-crops``; average views by probability;
    use batch size 1 under ``max_testing_views``."""
    pipeline = cfg.test_dataloader.dataset.get('pipeline')
    if pipeline is None and (args.num_clips or args.num_crops):
        raise SystemExit(
            'error: --num-clips/--num-crops need '
            'test_dataloader.dataset.pipeline in the config'
        )
    if args.num_clips:
        set_num_clips(pipeline, args.num_clips)
    if args.num_crops:
        set_num_crops(pipeline, args.num_crops)
    head = cfg.model.get('cls_head')
    if head is not None and head.get('average_clips') is None:
        head.average_clips = 'prob'
    if (cfg.model.get('test_cfg') or {}).get('max_testing_views'):
        cfg.test_dataloader.batch_size = 1
    if args.num_clips or args.num_crops:
        clips = args.num_clips or "the config's"
        crops = args.num_crops or "the config's"
        print_log(
            f'multi-view test: {clips} clips x {crops} crops per video',
            logger='current',
        )


def switch_to_deploy(runner: Runner) -> None:
    """Load the checkpoint, then switch the backbone to deploy mode."""
    model = (
        runner.model.module if is_model_wrapper(runner.model) else runner.model
    )
    backbone = getattr(model, 'backbone', None)
    if not callable(getattr(backbone, 'switch_to_deploy', None)):
        raise SystemExit(
            f'error: --deploy: the backbone '
            f'{type(backbone).__name__} has no '
            f'switch_to_deploy()'
        )
    runner.load_or_resume()
    backbone.switch_to_deploy()
    print_log(
        f'{type(backbone).__name__} switched to deploy mode', logger='current'
    )


def main(argv=None) -> None:
    """Test."""
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    check_checkpoints_fit()
    apply_view_args(cfg, args)
    if args.dump:
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = [
            *evaluators,
            dict(type='DumpResults', out_file_path=args.dump),
        ]
    runner = build_runner(cfg)
    if args.deploy:
        switch_to_deploy(runner)
    runner.test()
    leave_process_group()


if __name__ == '__main__':
    silence_irrelevant_warnings()
    run_reporting_bad_input(main)
