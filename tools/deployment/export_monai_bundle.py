"""Write a trained volumetric segmentor as a MONAI bundle.

    python tools/deployment/export_monai_bundle.py CONFIG CHECKPOINT OUT_DIR

OUT_DIR gets configs/metadata.json, configs/inference.json and
models/model.pt (the network's state_dict). Run it on a folder of NIfTI
volumes with

    python -m monai.bundle run --config_file OUT_DIR/configs/inference.json \\
        --bundle_root OUT_DIR --dataset_dir IMAGES --output_dir LABELS

Bad input ends with one line and exit status 1. See
docs/volumetric_segmentation.md.
"""

import argparse
import sys
from typing import Sequence

from cakes_mm.apis.runner import INPUT_ERRORS, one_line_report
from cakes_mm.deployment.monai_bundle import export_monai_bundle
from cakes_mm.environment import silence_irrelevant_warnings


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the config it was trained with')
    parser.add_argument('checkpoint', help='the trained weights')
    parser.add_argument('out_dir', help='the bundle folder to write')
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    """Export and say what was written."""
    args = parse_args(argv)
    try:
        network = export_monai_bundle(
            args.config, args.checkpoint, args.out_dir
        )
    # A config that is not a volumetric segmentor, or a bad arch file,
    # raises a plain ValueError naming it; this tool runs nothing else that
    # could.
    except (*INPUT_ERRORS, ValueError) as error:
        raise SystemExit(one_line_report(error)) from None
    print(
        f'wrote a MONAI bundle of {network} to {args.out_dir}; run it with '
        f'python -m monai.bundle run --config_file '
        f'{args.out_dir}/configs/inference.json --bundle_root '
        f'{args.out_dir} --dataset_dir IMAGES --output_dir LABELS'
    )


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main(sys.argv[1:])
