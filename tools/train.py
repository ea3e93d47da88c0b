"""Train a recognizer from a config, the mmaction2 way.

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm}]

The arguments and what they do are :mod:`cakes_mm.apis.train`'s.
"""

from cakes_mm.apis.runner import (
    exit_distributed_process,
    run_reporting_bad_input,
)
from cakes_mm.apis.train import main
from cakes_mm.environment import silence_irrelevant_warnings

if __name__ == '__main__':
    silence_irrelevant_warnings()
    run_reporting_bad_input(main)
    exit_distributed_process()
