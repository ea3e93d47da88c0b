"""Regenerate ``model-index.yml`` and ``configs/<family>/metafile.yml``.

Every config in a family folder gets an entry read from its contents and
its published result, if any (:mod:`cakes_mm.analysis.metafiles`). Nothing
is typed by hand: run this after adding or changing a config. ``--check``
writes nothing and exits with status 1 if a file is stale.

Usage::

    python tools/analysis/update_metafiles.py [--check] [--root DIR]
"""

import os.path as osp
import sys

import cakes_mm  # noqa: F401  (registers the models)
from cakes_mm.analysis.metafiles import main
from cakes_mm.environment import silence_irrelevant_warnings

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

if __name__ == '__main__':
    silence_irrelevant_warnings()
    sys.exit(main(default_root=REPO))
