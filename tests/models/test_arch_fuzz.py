"""Property-based tests: random JSON documents at the arch loader must give a
valid arch or a ValueError with a message, never another exception."""

import json
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cakes_mm.models.arch import resolve_arch
from cakes_mm.models.layers.sub_kernels import SUB_KERNEL_NAMES

WIDTHS = [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
NAMES = [
    f'layer{i + 1}.{j}' for i, n in enumerate((3, 4, 6, 3)) for j in range(n)
]
CASES = dict(tried=0, valid=0)

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
    CASES['tried'] += 1
    try:
        arch = resolve_arch(document, WIDTHS, NAMES)
    except ValueError as error:
        assert str(error)
        return
    CASES['valid'] += 1
    assert [sum(block.values()) for block in arch] == WIDTHS


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(documents)
def test_random_documents_give_an_arch_or_a_value_error(document):
    check(document)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.one_of(documents.map(json.dumps), st.text(max_size=40)))
def test_random_files_give_an_arch_or_a_value_error(text):
    with tempfile.NamedTemporaryFile(
        'w', suffix='.json', delete=False, encoding='utf-8'
    ) as f:
        f.write(text)
    check(f.name)


def test_deeply_nested_json_is_a_value_error(tmp_path):
    path = tmp_path / 'deep.json'
    path.write_text('[' * 100000 + ']' * 100000)
    check(str(path))


def test_binary_file_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / 'arch.json'
    path.write_bytes(b'[{"1xkxk": 64}\xff\xfe]')
    with pytest.raises(ValueError, match='arch.json: not UTF-8 text'):
        resolve_arch(str(path), WIDTHS, NAMES)


def test_cases_were_tried():
    # Runs after the property tests in file order; reports how many.
    print(
        f'\narch fuzzing: {CASES["tried"]} documents, {CASES["valid"]} valid'
    )
    assert CASES['tried'] >= 500 and CASES['valid'] > 0
