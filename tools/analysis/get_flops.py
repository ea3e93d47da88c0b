"""Print a config's params and GFLOPs, counted as the CAKES paper counts.

    python tools/analysis/get_flops.py CONFIG [--shape 1 3 8 224 224]

A recognizer is counted on one test view, a volumetric segmentor on one
sliding window (``model.test_cfg.roi_size``, the network's in_channels).
"""

import argparse

import cakes_mm  # noqa: F401  (registers the models, patches mmaction2)
from cakes_mm.analysis import config_complexity
from cakes_mm.environment import silence_irrelevant_warnings

CONVENTIONS = (
    'Conventions: FLOPs are multiply-adds (1 MAC = 1 FLOP, as in the CAKES '
    'paper) of all convolutions and linear layers for one view (video) or '
    'one sliding window (volume); norms, activations, pooling, upsampling '
    'and additions are not counted. Params include the classifier head.'
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Params and GFLOPs (multiply-adds) of a model config'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=5,
        metavar=('N', 'C', 'T', 'H', 'W'),
        help='input shape; defaults to the test pipeline of the config '
        '(clip_len frames at the CenterCrop size), or for a segmentor '
        '(N, C, D, H, W) of its sliding window',
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    complexity, shape = config_complexity(args.config, args.shape)
    print(f'Config: {args.config}')
    print(f'Input shape: {shape}')
    print(f'Params: {complexity.params_m:.2f} M')
    print(f'GFLOPs: {complexity.gflops:.2f}')
    print(CONVENTIONS)


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main()
