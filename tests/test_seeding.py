"""conftest.py seeds every global generator for each test and each
module- or session-scoped fixture."""

import random

import numpy as np
import pytest
import torch


def draws():
    """One number from each global generator."""
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_a_test_starts_from_seed_0_in_every_generator():
    first = draws()
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    assert first == draws()


@pytest.fixture(scope='module')
def module_draws():
    return draws()


def test_module_fixtures_start_from_seed_0(module_draws):
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    assert module_draws == draws()
