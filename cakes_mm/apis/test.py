"""Test a checkpoint on a config's test set, the mmaction2 way.

The code of ``tools/test.py``: :func:`main` takes its command line.

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

from mmengine.logging import print_log
from mmengine.runner import Runner

from ..models.utils import unwrap_model
from .pipeline import use_test_views
from .runner import build_runner, load_config, tool_parser


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = tool_parser(__doc__)
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


def switch_to_deploy(runner: Runner) -> None:
    """Load the checkpoint, then switch the backbone to deploy mode."""
    model = unwrap_model(runner.model)
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
    """Test, as ``tools/test.py`` with the arguments ``argv``.

    A distributed run's process group stays joined on return; the tool
    then ends its process with
    :func:`~cakes_mm.apis.runner.exit_distributed_process`.
    """
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    use_test_views(cfg, args.num_clips, args.num_crops)
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
