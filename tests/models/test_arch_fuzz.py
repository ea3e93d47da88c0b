"""Property-based tests: random JSON documents at the arch loader must give a
valid arch or a ValueError with a message, never another exception."""

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cakes_mm.models.arch import resolve_arch
from cakes_mm.models.layers.sub_kernels import SUB_KERNEL_NAMES

WIDTHS = [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
NAMES = [
    f'layer{i + 1}.{j}' for i, n in enumerate((3, 4, 6, 3)) for j in range(n)
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=8),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)
counts = st.one_of(st.integers(min_value=-600, max_value=600), junk)
blocks = st.dictionaries(
    st.one_of(st.sampled_from(SUB_KERNEL_NAMES), st.text(max_size=6)),
    counts,
    max_size=4,
)
near_valid = st.lists(blocks, min_size=14, max_size=18)
valid = st.lists(
    st.sampled_from(SUB_KERNEL_NAMES), min_size=1, max_size=3, unique=True
).map(
    lambda ops: [
        {
            op: w // len(ops) + (w % len(ops) if i == 0 else 0)
            for i, op in enumerate(ops)
        }
        for w in WIDTHS
    ]
)
documents = st.one_of(junk, near_valid, valid)


def check(document):
    """Resolve ``document``: an arch of the widths, or a ValueError.

    Returns:
        str: ``'valid'`` or ``'error'``, for the caller's count.
    """
    try:
        arch = resolve_arch(document, WIDTHS, NAMES)
    except ValueError as error:
        assert str(error)
        return 'error'
    assert [sum(block.values()) for block in arch] == WIDTHS
    return 'valid'


# Each test counts its own cases: a test passes alone and in any order.
def fuzz(max_examples):
    """Hypothesis's settings for the property functions below: the same
    cases on every run (seeded by the function's source)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


def test_random_documents_give_an_arch_or_a_value_error():
    cases = Counter()

    @fuzz(400)
    @given(documents)
    def random_document(document):
        cases[check(document)] += 1

    random_document()
    print(f'\narch fuzzing: {dict(cases)} of {cases.total()} documents')
    assert cases.total() >= 300 and cases['valid'] and cases['error']


def test_random_files_give_an_arch_or_a_value_error(tmp_path):
    cases = Counter()
    path = tmp_path / 'arch.json'

    @fuzz(150)
    @given(st.one_of(documents.map(json.dumps), st.text(max_size=40)))
    def random_file(text):
        path.write_text(text, encoding='utf-8')
        cases[check(str(path))] += 1

    random_file()
    print(f'\narch fuzzing: {dict(cases)} of {cases.total()} files')
    assert cases.total() >= 100 and cases['valid'] and cases['error']


def test_deeply_nested_json_is_a_value_error(tmp_path):
    path = tmp_path / 'deep.json'
    path.write_text('[' * 100000 + ']' * 100000)
    assert check(str(path)) == 'error'


def test_binary_file_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / 'arch.json'
    path.write_bytes(b'[{"1xkxk": 64}\xff\xfe]')
    with pytest.raises(ValueError, match='arch.json: not UTF-8 text'):
        resolve_arch(str(path), WIDTHS, NAMES)
