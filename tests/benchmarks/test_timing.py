"""The shared timing loop: phases by measure, models interleaved."""


def test_measures_are_timed_one_at_a_time_with_models_interleaved(
    benchmark_script,
):
    timing = benchmark_script('timing')
    calls = []

    def entry(name, keys):
        runs = {k: (lambda k=k: calls.append((k, name))) for k in keys}
        return dict(runs=runs, times={k: [] for k in keys})

    entries = [
        entry('a', ['infer', 'batch', 'train']),
        entry('b', ['infer', 'batch']),  # no training step
    ]
    timing.time_interleaved(entries, 2, '')
    # one untimed round, then two timed ones, per measure
    assert calls == (
        [('infer', 'a'), ('infer', 'b')] * 3
        + [('batch', 'a'), ('batch', 'b')] * 3
        + [('train', 'a')] * 3
    )
    assert [
        len(entries[0]['times'][k]) for k in ('infer', 'batch', 'train')
    ] == [2, 2, 2]
    assert sorted(entries[1]['times']) == ['batch', 'infer']
    assert all(
        t >= 0 for e in entries for ts in e['times'].values() for t in ts
    )


def test_a_table_states_the_allocator_setting(benchmark_script, monkeypatch):
    timing = benchmark_script('timing')
    for name in timing.ALLOCATOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert timing.allocator_setting() == 'default malloc'
    monkeypatch.setenv('GLIBC_TUNABLES', 'glibc.malloc.mmap_max=0')
    assert (
        timing.allocator_setting() == 'GLIBC_TUNABLES=glibc.malloc.mmap_max=0'
    )
