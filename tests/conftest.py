"""Shared fixtures: the plugin is imported, and every test starts in
mmaction's registry scope (an mmengine Runner built without one leaves
mmengine's behind) from the same random state."""

import pytest
import torch
from mmengine.registry import init_default_scope

import cakes_mm  # noqa: F401

init_default_scope('mmaction')


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts in mmaction's scope, from the same random state."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
