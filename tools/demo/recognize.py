"""Print the top-5 labels of one video file.

    python tools/demo/recognize.py VIDEO CONFIG CHECKPOINT \
        [--label-map FILE] [--device cpu]

The video goes through the config's test pipeline (decord, the test
sampler's clips, resize and crop) and the model averages its views as the
config says. ``--label-map`` is a text file with one class name per line, in
label order (the demo writes ``work_dirs/demo/data/label_map.txt``); without
it, labels print as their numbers. A missing or undecodable video, a missing
checkpoint or one that does not fit the config's model ends with one line
naming the file.
"""
import argparse
import logging
import os.path as osp
import sys
from typing import List, Sequence, Tuple

import cakes_mm  # noqa: F401,I100  (first: mmaction2 shims, registries)
import torch
from cakes_mm.checkpoint.safe_load import UnsafeCheckpointError, load_local_checkpoint
from cakes_mm.checkpoint.fit_check import checkpoint_state_dict, describe_mismatch
from cakes_mm.datasets import error_reason
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS

TOP_K = 5


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('video', help='the video file')
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', help='the trained weights')
    parser.add_argument('--label-map',
                        help='class names, one per line in label order')
    parser.add_argument('--device', default='cpu',
                        help='torch device (default: cpu)')
    return parser.parse_args(argv)


def require_file(path: str, what: str) -> None:
    """Exit with one line if ``path`` is not a file."""
    if not osp.isfile(path):
        raise SystemExit(f'error: {what} not found: {path}')


def read_label_map(path: str) -> List[str]:
    """Class names, one per non-empty line of ``path``."""
    require_file(path, 'label map')
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def load_model(cfg: Config, checkpoint: str, device: str) -> torch.nn.Module:
    """Build the config's model and load every weight of ``checkpoint``."""
    model = MODELS.build(cfg.model)
    try:
        state = checkpoint_state_dict(load_local_checkpoint(checkpoint, 'cpu'))
    except UnsafeCheckpointError as error:
        raise SystemExit(f'error: {error}') from None
    except Exception as error:  # torch raises several types for bad files
        raise SystemExit(f'error: cannot read checkpoint {checkpoint}: '
                         f'{error_reason(error)}') from None
    mismatch = describe_mismatch(model.state_dict(), state)
    if mismatch:
        raise SystemExit(f'error: {checkpoint} does not fit the model of the '
                         f'config: {mismatch}')
    model.load_state_dict(state)
    model.to(device)
    model.eval()
    return model


def prepare_video(video: str, cfg: Config) -> dict:
    """Run the config's test pipeline on ``video``; a batch of one."""
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    try:
        packed = pipeline(dict(filename=video, label=-1, start_index=0,
                               modality='RGB'))
    except Exception as error:  # decord raises several error types
        raise SystemExit(f'error: cannot decode video {video}: '
                         f'{error_reason(error)}') from None
    return dict(inputs=[packed['inputs']],
                data_samples=[packed['data_samples']])


def recognize(video: str, config: str, checkpoint: str,
              device: str = 'cpu') -> torch.Tensor:
    """Class probabilities of one video.

    Args:
        video (str): The video file.
        config (str): The model config.
        checkpoint (str): Weights for the config's model.
        device (str): Torch device. Defaults to ``'cpu'``.

    Returns:
        torch.Tensor: (num_classes, ) scores, averaged over the views as the
        config's head says (``average_clips='prob'``: probabilities).
    """
    for path, what in ((video, 'video'), (config, 'config'),
                       (checkpoint, 'checkpoint')):
        require_file(path, what)
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    batch = prepare_video(video, cfg)
    model = load_model(cfg, checkpoint, device)
    with torch.no_grad():
        sample = model.test_step(batch)[0]
    return sample.pred_score.cpu()


def top_labels(scores: torch.Tensor,
               names: Sequence[str]) -> List[Tuple[str, float]]:
    """The ``TOP_K`` best (name, score) pairs, best first."""
    values, labels = scores.topk(min(TOP_K, len(scores)))
    return [(names[label], float(value))
            for value, label in zip(values, labels)]


def main(argv: Sequence[str]) -> None:
    """Print the top-5 labels of the video."""
    args = parse_args(argv)
    names = read_label_map(args.label_map) if args.label_map else None
    # mmaction2's deprecation warnings would go to stdout, among the labels.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        scores = recognize(args.video, args.config, args.checkpoint,
                           args.device)
    finally:
        logger.setLevel(level)
    if names is None:
        names = [str(label) for label in range(len(scores))]
    elif len(names) < len(scores):
        raise SystemExit(f'error: {args.label_map} names {len(names)} '
                         f'classes but the model has {len(scores)}')
    for rank, (name, score) in enumerate(top_labels(scores, names), 1):
        print(f'{rank}. {name}  {score:.3f}')


if __name__ == '__main__':
    main(sys.argv[1:])
