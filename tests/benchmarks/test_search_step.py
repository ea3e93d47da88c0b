"""benchmarks/search_step.py: ratios with each side at its faster layout."""


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
