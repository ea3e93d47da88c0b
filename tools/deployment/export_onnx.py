"""Export a trained recognizer to ONNX, checked in onnxruntime.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT --out model.onnx
        [--shape 1 3 8 224 224] [--no-deploy] [--cfg-options KEY=VALUE ...]

The file maps ``input``, a batch of clips (batch, 3, T, H, W) normalised as
the config's data_preprocessor does, to ``output``, (batch, num_classes)
scores: the head's softmax probabilities under ``average_clips='prob'``, as
mmdeploy gives them. The batch dimension is dynamic; T, H and W are those
of ``--shape``. The backbone is exported in deploy form (BN-folded 2D convs
over frames) unless ``--no-deploy``. Before the file is written it is run in
onnxruntime at two batch sizes and must match PyTorch within 1e-4
(relative), in the logits and in the scores. Bad input ends with one line
and exit status 1. See docs/onnx.md.
"""

import argparse
import sys
from typing import Sequence

from mmengine.config import DictAction

import cakes_mm  # noqa: F401,I100  (first: mmaction2 shims, registries)
from cakes_mm.apis import init_recognizer
from cakes_mm.apis.runner import INPUT_ERRORS, one_line_report
from cakes_mm.deployment import export_recognizer
from cakes_mm.environment import silence_irrelevant_warnings
from cakes_mm.extras import require_extra


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', help='the trained weights')
    parser.add_argument('--out', required=True, help='the ONNX file to write')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=5,
        default=[1, 3, 8, 224, 224],
        metavar=('N', 'C', 'T', 'H', 'W'),
        help='input shape to trace and check; N is dynamic '
        'in the file (default: 1 3 8 224 224)',
    )
    parser.add_argument(
        '--no-deploy',
        action='store_true',
        help='export the backbone as trained (eval mode), not in deploy form',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'model.backbone.op.arch=arch_final.json',
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    """Export, check, and say what was written."""
    args = parse_args(argv)
    require_extra('deploy', 'export_onnx.py')
    try:
        model = init_recognizer(
            args.config, args.checkpoint, 'cpu', args.cfg_options
        )
        report = export_recognizer(
            model, args.out, args.shape, deploy=not args.no_deploy
        )
    except INPUT_ERRORS as error:
        raise SystemExit(one_line_report(error)) from None
    form = 'deploy form' if report.deploy else 'eval mode'
    _, channels, frames, height, width = report.input_shape
    print(
        f'wrote {report.path} ({type(model.backbone).__name__} in {form}):'
        f' input (batch, {channels}, {frames}, {height}, {width}) -> '
        f'output (batch, {report.num_classes}); onnxruntime matches '
        f'PyTorch at batch '
        f'{" and ".join(map(str, report.batch_sizes))} (max relative '
        f'difference of the logits {report.difference:.1e})'
    )


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main(sys.argv[1:])
