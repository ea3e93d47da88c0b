"""benchmarks/search_step.py: ratios with each side at its faster layout."""

import torch


def test_each_model_is_taken_at_its_faster_layout(benchmark_script):
    search_step = benchmark_script('search_step')
    last = search_step.CHANNELS_LAST
    times = {
        'C2D (fixed)': [2.0, 2.2, 2.4],  # median 2.2
        'C2D (fixed)' + last: [1.9, 1.8, 1.7],  # median 1.8: C2D's best
        '123d perf supernet': [2.7, 2.7, 2.7],  # its best
        '123d perf supernet' + last: [3.0, 3.1, 2.9],
    }
    line = search_step.best_layout_ratios(times)
    assert line.endswith(
        'ratio to C2D: C2D (fixed) 1.00, 123d perf supernet 1.50'
    )


def test_bf16_rows_are_compared_apart(benchmark_script):
    """The float32 layouts' best ignores the bf16 rows, which are compared
    with C2D in bf16."""
    search_step = benchmark_script('search_step')
    last, bf16 = search_step.CHANNELS_LAST, search_step.BF16
    times = {
        'C2D (fixed)': [2.0],
        'C2D (fixed)' + last: [1.8],
        'C2D (fixed)' + bf16: [0.5],  # not C2D's float32 best
        '123d perf supernet': [2.7],
        '123d perf supernet' + last: [3.0],
        '123d perf supernet' + bf16: [0.6],
    }
    assert search_step.best_layout_ratios(times).endswith(
        'ratio to C2D: C2D (fixed) 1.00, 123d perf supernet 1.50'
    )
    assert search_step.bf16_ratios(times).endswith(
        'ratio to C2D: C2D (fixed) 1.00, 123d perf supernet 1.20'
    )


def test_a_bf16_step_autocasts_and_updates_float32_weights(
    benchmark_script,
):
    search_step = benchmark_script('search_step')
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(3, 4, 3, padding=1)
    seen = []
    conv.register_forward_hook(lambda m, args, out: seen.append(out.dtype))
    before = conv.weight.detach().clone()
    search_step.step_fn(conv, torch.randn(2, 3, 2, 8, 8), 'cpu', bf16=True)()
    assert seen == [torch.bfloat16]
    assert conv.weight.dtype == torch.float32
    assert not torch.equal(conv.weight, before)
