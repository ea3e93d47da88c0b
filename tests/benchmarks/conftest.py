"""The benchmark scripts import each other by name from ``benchmarks/``."""

import importlib
import os.path as osp

import pytest
from tool_helpers import REPO


@pytest.fixture
def benchmark_script(monkeypatch):
    """Import a script of ``benchmarks/`` by module name (``'latency'``),
    with that folder on the path, as the scripts themselves run."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'benchmarks'))
    return importlib.import_module
