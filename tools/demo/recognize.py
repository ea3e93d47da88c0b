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
``model.backbone.op.arch=arch_final.json`` for a searched architecture.
``--label-map`` is a text file with one class name per line, in label order
(the demo writes ``work_dirs/demo/data/label_map.txt``); without it, labels
print as their numbers. Bad input (a missing, undecodable or unknown file, a
checkpoint that does not fit the config's model, a config without a test
pipeline) ends with one line saying what is wrong, and exit status 1.
"""

import argparse
import contextlib
import os
import sys
import tempfile
from typing import Callable, Iterator, Sequence

from mmengine.config import DictAction
from mmengine.logging import MMLogger

import cakes_mm  # noqa: F401,I100  (first: mmaction2 shims, registries)
from cakes_mm.apis.labels import read_label_map, recognize, top_labels
from cakes_mm.apis.runner import INPUT_ERRORS, one_line_report
from cakes_mm.environment import (
    hide_irrelevant_log_messages,
    silence_irrelevant_warnings,
)


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
        'model.backbone.op.arch=arch_final.json',
    )
    return parser.parse_args(argv)


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


def main(argv: Sequence[str]) -> None:
    """Print the top-5 labels of the video."""
    args = parse_args(argv)
    # mmaction2's loaders log deprecations that would go to stdout, among
    # the labels.
    hide_irrelevant_log_messages(MMLogger.get_current_instance())
    with held_stderr() as drop_held:
        try:
            names = read_label_map(args.label_map) if args.label_map else None
            scores = recognize(
                args.video,
                args.config,
                args.checkpoint,
                args.device,
                args.cfg_options,
                args.filename_tmpl,
            )
            labels = top_labels(scores, names, args.label_map)
        except INPUT_ERRORS as error:
            drop_held()  # decord's and FFmpeg's logs of the same fault
            raise SystemExit(one_line_report(error)) from None
    for rank, (name, score) in enumerate(labels, 1):
        print(f'{rank}. {name}  {score:.3f}')


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main(sys.argv[1:])
