"""Shared fixtures: the plugin is imported, every test starts in mmaction's
registry scope (an mmengine Runner built without one leaves mmengine's
behind) from the same random state, and an xdist worker runs torch on one
thread."""

import os
import random

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from model_helpers import torch_threads

import cakes_mm  # noqa: F401

init_default_scope('mmaction')

if os.environ.get('PYTEST_XDIST_WORKER'):
    # The workers share the machine's cores: intra-op threads on top of
    # them would only contend (and spin) for the same cores.
    torch.set_num_threads(1)


def seed_everything():
    """Seed torch's, numpy's and Python's global generators with 0."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts in mmaction's scope, from the same random state:
    its random draws (its own and those of the code it runs) repeat alone
    and in any order."""
    init_default_scope('mmaction')
    seed_everything()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """A module- or session-scoped fixture is set up before ``seeded``, at
    whatever state the tests before left: each starts from seed 0 too."""
    if fixturedef.scope != 'function':
        seed_everything()
    return (yield)


@pytest.fixture(params=[1, 2], ids=['1-thread', '2-threads'])
def threads(request):
    """torch on one thread, then on two, for the test, restored after it."""
    with torch_threads(request.param) as count:
        yield count
