import os

import pytest
import torch

from cakes_mm.models.search.paths import (
    CONV_PLAN_CACHE,
    ONEDNN_CACHE_VARIABLE,
    drawn_filters,
    reserve_conv_plans,
)


@pytest.mark.parametrize(
    'layout', [torch.contiguous_format, torch.channels_last_3d]
)
def test_drawn_filters_equal_indexing_forward_and_backward(layout):
    torch.manual_seed(0)
    weight = torch.randn(12, 5, 3, 3, 3).contiguous(memory_format=layout)
    rows = torch.tensor([0, 4, 5, 11])
    grad = torch.randn(4, 5, 3, 3, 3)
    fast = weight.clone().requires_grad_()
    plain = weight.clone().requires_grad_()
    out = drawn_filters(fast, rows)
    assert torch.equal(out, plain[rows])
    out.backward(grad)
    plain[rows].backward(grad)
    assert torch.equal(fast.grad, plain.grad)
    assert fast.grad.stride() == fast.stride()  # no copy when accumulated


def test_drawn_filters_of_a_bias():
    bias = torch.arange(6.0, requires_grad=True)
    out = drawn_filters(bias, torch.tensor([5, 1]))
    assert out.tolist() == [5.0, 1.0]
    out.backward(torch.tensor([2.0, 3.0]))
    assert bias.grad.tolist() == [0.0, 3.0, 0.0, 0.0, 0.0, 2.0]


def test_reserve_conv_plans_sets_the_cache_and_keeps_a_users_setting(
    monkeypatch,
):
    monkeypatch.setenv(ONEDNN_CACHE_VARIABLE, 'restored after the test')
    monkeypatch.delenv(ONEDNN_CACHE_VARIABLE)
    reserve_conv_plans()
    assert os.environ[ONEDNN_CACHE_VARIABLE] == str(CONV_PLAN_CACHE)
    monkeypatch.setenv(ONEDNN_CACHE_VARIABLE, '100')
    reserve_conv_plans(8192)
    assert os.environ[ONEDNN_CACHE_VARIABLE] == '100'
