"""Train a recognizer from a config, the mmaction2 way.

The code of ``tools/train.py``: :func:`main` takes its command line.

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm}]

``--resume`` alone resumes from the latest checkpoint in the work dir;
``--resume CKPT`` from that file. The runner and hooks are the config's,
as written: with our base runtime config (``configs/_base_/
default_runtime.py``) every run writes checkpoints atomically and saves the
random generators' states in them (``RandomStateHook``), so a resumed
epoch-based run ends as the uninterrupted one would, and its runner
(``CheckedRunner``) requires a resumed checkpoint to fit the
model exactly; a ``load_from`` checkpoint too, except under ``cls_head.``
(fine-tuning to another class count). Bad data, unsafe checkpoints and
checkpoints that do not fit stop the run with one line naming the file,
annotation line or key at fault.
"""

import argparse

import torch
from mmengine.config import Config

from .runner import build_runner, load_config, tool_parser


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = tool_parser(__doc__)
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='CKPT',
        help='resume from CKPT, or from the latest checkpoint in the work '
        'dir when no CKPT is given',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: fp16 with dynamic loss scaling on a GPU, '
        'bf16 autocast on the CPU',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help="scale the learning rate linearly from the config's "
        'auto_scale_lr.base_batch_size to the actual total batch size',
    )
    return parser.parse_args(argv)


def apply_train_args(cfg: Config, args: argparse.Namespace) -> None:
    """Apply ``--resume``, ``--amp`` and ``--auto-scale-lr`` to ``cfg``."""
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.amp and torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    elif args.amp:  # bf16 autocast on the CPU
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise SystemExit(
                'error: --auto-scale-lr needs '
                'auto_scale_lr.base_batch_size in the config'
            )
        cfg.auto_scale_lr.enable = True


def main(argv=None) -> None:
    """Train, as ``tools/train.py`` with the arguments ``argv``.

    A distributed run's process group stays joined on return; the tool
    then ends its process with
    :func:`~cakes_mm.apis.runner.exit_distributed_process`.
    """
    args = parse_args(argv)
    cfg = load_config(args)
    apply_train_args(cfg, args)
    build_runner(cfg).train()
