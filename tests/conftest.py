"""Shared fixtures: the plugin is imported and mmaction's scope is set."""
import pytest
import torch
from mmengine.registry import init_default_scope

import cakes_mm  # noqa: F401

init_default_scope('mmaction')


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same random state."""
    torch.manual_seed(0)
