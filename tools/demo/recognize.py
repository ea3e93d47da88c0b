"""Print the top-5 labels of one video file or folder of frames.

    python tools/demo/recognize.py VIDEO_OR_FOLDER CONFIG CHECKPOINT \
        [--label-map FILE] [--device cpu] [--filename-tmpl TMPL] \
        [--cfg-options KEY=VALUE ...]

Any config works on either input (``cakes_mm.apis``): an sthv1 config, which
reads JPEG frame folders, decodes a video with decord instead, and a video
config reads a folder of numbered frames (file name template detected, or
``--filename-tmpl``). The config's sampling, resize, crop and normalisation
are kept, and the model averages its views as the config says.
``--cfg-options`` overrides config entries as in tools/test.py, e.g.
``model.backbone.arch=arch_final.json`` for a searched architecture.
``--label-map`` is a text file with one class name per line, in label order
(the demo writes ``work_dirs/demo/data/label_map.txt``); without it, labels
print as their numbers. Bad input (a missing, undecodable or unknown file, a
checkpoint that does not fit the config's model, a config without a test
pipeline) ends with one line saying what is wrong, and exit status 1.
"""

import argparse
import contextlib
import os
import os.path as osp
import sys
import tempfile
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger

import cakes_mm  # noqa: F401,I100  (first: mmaction2 shims, registries)
from cakes_mm.apis import inference_recognizer, init_recognizer
from cakes_mm.apis.runner import INPUT_ERRORS, one_line_report
from cakes_mm.environment import (
    hide_irrelevant_log_messages,
    silence_irrelevant_warnings,
)

TOP_K = 5


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('video', help='a video file or a folder of frames')
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', help='the trained weights')
    parser.add_argument(
        '--label-map', help='class names, one per line in label order'
    )
    parser.add_argument(
        '--device', default='cpu', help='torch device (default: cpu)'
    )
    parser.add_argument(
        '--filename-tmpl',
        help='frame file names of a folder, e.g. '
        "'img_{:05}.jpg' (default: detected)",
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'model.backbone.arch=arch_final.json',
    )
    return parser.parse_args(argv)


def read_label_map(path: str) -> List[str]:
    """Class names, one per non-empty line of ``path``."""
    if not osp.isfile(path):
        raise SystemExit(f'error: label map not found: {path}')
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def recognize(
    video: str,
    config: str,
    checkpoint: str,
    device: str = 'cpu',
    cfg_options: Optional[dict] = None,
    filename_tmpl: Optional[str] = None,
) -> torch.Tensor:
    """Class scores of one video file or frame folder.

    Args:
        video (str): The video file or folder of frames.
        config (str): The model config.
        checkpoint (str): Weights for the config's model.
        device (str): Torch device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        filename_tmpl (str, optional): Frame file names of a folder.
            Defaults to None: detected.

    Returns:
        torch.Tensor: (num_classes, ) scores, averaged over the views as the
        config's head says (``average_clips='prob'``: probabilities).
    """
    if not osp.exists(video):  # before the model is built
        raise FileNotFoundError(f'video not found: {video}')
    model = init_recognizer(config, checkpoint, device, cfg_options)
    sample = inference_recognizer(model, video, filename_tmpl=filename_tmpl)
    return sample.pred_score.cpu()


@contextlib.contextmanager
def held_stderr() -> Iterator[Callable[[], None]]:
    """Hold everything written to stderr (file descriptor 2, where decord
    and FFmpeg log from C) until the block ends, then write it out.

    Yields:
        Callable: Call it to drop what was held instead: the one-line error
        that follows says it all.
    """
    sys.stderr.flush()
    original = os.dup(2)
    keep = [True]
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield lambda: keep.clear()
        finally:
            sys.stderr.flush()
            os.dup2(original, 2)
            os.close(original)
            if keep:
                held.seek(0)
                sys.stderr.buffer.write(held.read())
                sys.stderr.flush()


def top_labels(
    scores: torch.Tensor, names: Sequence[str]
) -> List[Tuple[str, float]]:
    """The ``TOP_K`` best (name, score) pairs, best first."""
    values, labels = scores.topk(min(TOP_K, len(scores)))
    return [
        (names[label], float(value)) for value, label in zip(values, labels)
    ]


def main(argv: Sequence[str]) -> None:
    """Print the top-5 labels of the video."""
    args = parse_args(argv)
    names = read_label_map(args.label_map) if args.label_map else None
    # mmaction2's loaders log deprecations that would go to stdout, among
    # the labels.
    hide_irrelevant_log_messages(MMLogger.get_current_instance())
    with held_stderr() as drop_held:
        try:
            scores = recognize(
                args.video,
                args.config,
                args.checkpoint,
                args.device,
                args.cfg_options,
                args.filename_tmpl,
            )
        except INPUT_ERRORS as error:
            drop_held()  # decord's and FFmpeg's logs of the same fault
            raise SystemExit(one_line_report(error)) from None
    if names is None:
        names = [str(label) for label in range(len(scores))]
    elif len(names) < len(scores):
        raise SystemExit(
            f'error: {args.label_map} names {len(names)} '
            f'classes but the model has {len(scores)}'
        )
    for rank, (name, score) in enumerate(top_labels(scores, names), 1):
        print(f'{rank}. {name}  {score:.3f}')


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main(sys.argv[1:])
