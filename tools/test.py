"""Test a checkpoint on a config's test set, the mmaction2 way.

Usage::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--dump results.pkl] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm}] [--num-clips N]
        [--num-crops {1,3}] [--deploy]

The arguments and what they do are :mod:`cakes_mm.apis.test`'s.
"""

from cakes_mm.apis.runner import (
    exit_distributed_process,
    run_reporting_bad_input,
)
from cakes_mm.apis.test import main
from cakes_mm.environment import silence_irrelevant_warnings

if __name__ == '__main__':
    silence_irrelevant_warnings()
    run_reporting_bad_input(main)
    exit_distributed_process()
