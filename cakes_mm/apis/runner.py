"""What the train and test tools share: arguments, config loading, the
runner, and one-line reports of bad input.

The tools work from any working directory: ``import cakes_mm`` registers
the ``cakes_mm::`` config scope. The runner is the one the config names
(``runner_type``): our base runtime config names
:class:`~cakes_mm.engine.CheckedRunner`, which loads only checkpoints that
fit the model. Its hooks are the config's too: our base runtime config
names :class:`~cakes_mm.engine.hooks.AtomicCheckpointHook` (checkpoint
writes a kill cannot tear) and
:class:`~cakes_mm.engine.hooks.RandomStateHook` (exact resume); a config
that leaves them out runs without them.
"""

import argparse
import atexit
import os
import os.path as osp
import sys
import threading
from typing import Callable

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..checkpoint.fit_check import CheckpointMismatchError
from ..checkpoint.safe_load import UnsafeCheckpointError
from ..config_names import resolve_config
from ..datasets import BadInputError, short_message
from ..deployment.onnx_export import ExportError
from ..environment import hide_irrelevant_log_messages
from ..extras import MissingExtraError
from .pipeline import UnsupportedConfigError

#: Errors whose message names the file, line or key at fault and says what
#: to do: every tool reports them in one line (:func:`one_line_report`).
INPUT_ERRORS = (
    BadInputError,
    CheckpointMismatchError,
    ExportError,
    FileNotFoundError,
    MissingExtraError,
    UnsafeCheckpointError,
    UnsupportedConfigError,
)


def tool_parser(doc: str) -> argparse.ArgumentParser:
    """A tool's argument parser with the common arguments
    (:func:`add_common_args`).

    Args:
        doc (str): The tool's module doc; its first line describes the
            tool in ``--help``.

    Returns:
        argparse.ArgumentParser: The parser, for the tool's own arguments.
    """
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    add_common_args(parser)
    return parser


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the config, work-dir, cfg-options and launcher arguments."""
    parser.add_argument(
        'config',
        help='config file, or cakes_mm::family/name.py for a shipped one '
        "(a renamed config's old name still resolves, with a warning)",
    )
    parser.add_argument(
        '--work-dir',
        help="where logs and checkpoints go; defaults to the config's "
        'work_dir, else ./work_dirs/<config name>',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'train_dataloader.batch_size=4 model.cls_head.num_classes=10',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='job launcher; tools/dist_*.sh pass "pytorch"',
    )
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help=argparse.SUPPRESS,
    )


def load_config(args: argparse.Namespace) -> Config:
    """Read the config and apply the common arguments.

    Args:
        args (argparse.Namespace): Parsed arguments (see
            :func:`add_common_args`).

    Returns:
        Config: The config, ready for :func:`build_runner`.
    """
    path = resolve_config(args.config)
    if not osp.isfile(path):
        raise SystemExit(f'error: config file not found: {args.config}')
    cfg = Config.fromfile(path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join(
            'work_dirs', osp.splitext(osp.basename(path))[0]
        )
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return cfg


def setup_cpu_distributed(cfg: Config) -> None:
    """Use gloo for a distributed run on a machine without CUDA.

    mmaction2's runtime asks for nccl, and mmengine's own start-up calls
    ``torch.cuda.set_device`` and gives DDP a device id; none of that works
    on CPU. This joins the process group with gloo before the runner does
    (it then skips its own start-up) and wraps the model in DDP without
    device ids: a config's own ``model_wrapper_cfg`` (a search config's
    ``find_unused_parameters=True``, say) is kept, with ``device_ids=None``
    and, unless it says otherwise, ``broadcast_buffers=False``. With CUDA,
    the config is left as it is (nccl by default).

    Args:
        cfg (Config): The config, changed in place.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise SystemExit(
            f'error: --launcher {cfg.launcher} needs CUDA; on '
            'CPU use --launcher pytorch (tools/dist_*.sh)'
        )
    cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        wrapper = dict(
            type='MMDistributedDataParallel',
            find_unused_parameters=cfg.get('find_unused_parameters', False),
        )
    wrapper.setdefault('broadcast_buffers', False)
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def build_runner(cfg: Config) -> Runner:
    """Build the runner the config asks for (``runner_type``, else Runner),
    with a logger that drops the stack's irrelevant lines.

    Args:
        cfg (Config): The config.

    Returns:
        Runner: The runner.
    """
    setup_cpu_distributed(cfg)
    runner = runner_from_config(cfg)
    hide_irrelevant_log_messages(runner.logger)
    return runner


def runner_from_config(cfg: Config) -> Runner:
    """The runner a config names with ``runner_type`` (registered in
    mmengine's ``RUNNERS``), else mmengine's Runner, as mmengine's own
    tools choose.

    Args:
        cfg (Config): The config.

    Returns:
        Runner: The runner.
    """
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def exit_distributed_process() -> None:
    """End a distributed tool's process once every rank has got here.

    Without a process group this does nothing. With one, every rank waits
    at a barrier and leaves the group; then, as at a normal exit, the
    Python threads that are not daemons are joined and the atexit handlers
    run (log files, a visualizer's writers); the standard streams are
    flushed and the process ends with status 0, skipping the interpreter's
    teardown.

    Why skip it: gloo runs collectives on its own worker threads, and a
    worker frees a finished collective's tensors a moment after the caller
    has seen it finish. Tensors that Python has already let go of need the
    GIL to be freed. If that moment falls inside the interpreter's
    teardown, the worker cannot take the GIL, is unwound, and the process
    aborts (``terminate called without an active exception``), failing a
    run that trained, tested and saved correctly. The worker threads
    belong to a process group that the run's objects still hold (the
    model's DDP wrapper among them), so they outlive
    :func:`torch.distributed.destroy_process_group`. A tool
    calls this after ``main`` returned without error, as its last step;
    ``main`` itself leaves the process running, for callers that go on.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    dist.destroy_process_group()
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def one_line_report(error: BaseException) -> str:
    """The one line a tool prints for bad input.

    Args:
        error (BaseException): One of :data:`INPUT_ERRORS`.

    Returns:
        str: ``'error: '`` and the message naming what is at fault.
    """
    return f'error: {short_message(error)}'


def run_reporting_bad_input(main: Callable[[], object]) -> None:
    """Run ``main``; report bad input as one line and exit with status 1.

    Bad data, refused checkpoints, checkpoints that do not fit the model,
    missing files and unusable configs (:data:`INPUT_ERRORS`) name the
    file, line or key at fault; a traceback through the data loader or the
    unpickler would add nothing.

    Args:
        main (Callable): The tool's main function.
    """
    try:
        main()
    except INPUT_ERRORS as error:
        print(one_line_report(error), file=sys.stderr)
        sys.exit(1)
