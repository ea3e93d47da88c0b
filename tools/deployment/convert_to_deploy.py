"""Write a trained checkpoint's deploy form, for a ``deploy=True`` model.

    python tools/deployment/convert_to_deploy.py CONFIG CHECKPOINT OUT
        [--cfg-options KEY=VALUE ...]

The backbone becomes its deploy form (BN-folded 2D convs over frames, see
``CAKESResNet.switch_to_deploy``). Test with the written file as usual,
adding ``--cfg-options model.backbone.deploy=True``. Bad input ends with one
line and exit status 1.
"""

import argparse
import sys
from typing import Sequence

from mmengine.config import DictAction

from cakes_mm.apis.deploy import write_deploy_checkpoint
from cakes_mm.apis.runner import INPUT_ERRORS, one_line_report
from cakes_mm.environment import silence_irrelevant_warnings


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the config it was trained with')
    parser.add_argument('checkpoint', help='the trained weights')
    parser.add_argument('out', help='the deploy checkpoint to write')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries',
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    """Convert and say what was written."""
    args = parse_args(argv)
    try:
        name = write_deploy_checkpoint(
            args.config, args.checkpoint, args.out, args.cfg_options
        )
    # A backbone without a deploy form, or a bad arch file, raises a plain
    # ValueError naming it; this tool runs nothing else that could.
    except (*INPUT_ERRORS, ValueError) as error:
        raise SystemExit(one_line_report(error)) from None
    print(
        f'wrote {args.out}: {name} in deploy form; test it with '
        f'--cfg-options model.backbone.deploy=True'
    )


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main(sys.argv[1:])
