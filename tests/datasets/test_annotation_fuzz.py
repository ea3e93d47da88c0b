"""Property-based tests: random annotation files at the checked datasets'
list parser give records or a ``ValueError`` naming the first bad line,
never another exception and never a hang."""

import os.path as osp
import signal
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmengine.registry import init_default_scope

from cakes_mm.datasets import (
    BadAnnotationError,
    CheckedRawframeDataset,
    CheckedVideoDataset,
)

NUM_CLASSES = 5
SECONDS_PER_CASE = 10

# Each dataset layout: (dataset class, constructor arguments).
LAYOUTS = {
    'frames': (CheckedRawframeDataset, dict()),
    'frames+offset': (CheckedRawframeDataset, dict(with_offset=True)),
    'frames multi-label': (CheckedRawframeDataset, dict(multi_class=True)),
    'videos': (CheckedVideoDataset, dict()),
    'videos, commas': (CheckedVideoDataset, dict(delimiter=',')),
    'videos, no num_classes': (CheckedVideoDataset, dict(num_classes=None)),
}

numbers = st.one_of(st.integers(-3, 12), st.integers(-(10**40), 10**40))
fields = st.one_of(
    numbers.map(str),
    st.sampled_from(
        [
            'vid0',
            'a/b c.mp4',
            '00012',
            '+3',
            '1_0',
            '٣',
            '0x1F',
            '1e3',
            '-0',
            '4.0',
            'nan',
            '',
            '\ufeffvid',
            'é',
        ]
    ),
    st.text(st.characters(blacklist_categories=('Cs',)), max_size=6),
)
separators = st.sampled_from([' ', '  ', '\t', ',', ' , ', '\u3000', '\x0c'])
junk_lines = st.tuples(st.lists(fields, max_size=5), separators).map(
    lambda parts: parts[1].join(parts[0])
)
near_valid_lines = st.tuples(
    st.sampled_from(['vid', 'a.mp4', 'x/y']),
    st.lists(st.integers(-1, 7).map(str), min_size=1, max_size=3),
    st.sampled_from([' ', ',']),
).map(lambda parts: parts[2].join([parts[0], *parts[1]]))
lines = st.one_of(junk_lines, near_valid_lines)
texts = st.tuples(
    st.one_of(
        st.lists(lines, max_size=6), st.lists(near_valid_lines, max_size=4)
    ),
    st.sampled_from(['\n', '\r\n', '\r']),
).map(lambda parts: parts[1].join(parts[0]))
documents = st.one_of(
    texts, texts.map(lambda text: '\ufeff' + text), st.binary(max_size=40)
)


def write(folder, text, name='ann.txt'):
    """Write ``text`` (str as UTF-8, or bytes) to ``folder``; return the
    path."""
    path = osp.join(folder, name)
    with open(path, 'wb') as file:
        file.write(text.encode('utf-8') if isinstance(text, str) else text)
    return path


def build(layout, path):
    """The dataset of ``layout`` over the annotation file ``path``.

    (Not serialized: mmengine's serialization runs a full ``gc.collect()``,
    0.2 s per dataset.)
    """
    dataset_class, kwargs = LAYOUTS[layout]
    kwargs = dict(
        dict(num_classes=NUM_CLASSES, serialize_data=False), **kwargs
    )
    return dataset_class(ann_file=path, pipeline=[], **kwargs)


def alarm(signum, frame):
    raise TimeoutError(f'parsing took over {SECONDS_PER_CASE} s')


def parse(layout, path):
    """Build the dataset, with an alarm against hangs."""
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(SECONDS_PER_CASE)
    try:
        return build(layout, path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def physical_lines(data):
    """The file's lines as an editor numbers them."""
    text = data if isinstance(data, str) else data.decode('utf-8')
    text = text.removeprefix('\ufeff').replace('\r\n', '\n')
    return text.replace('\r', '\n').split('\n')


def check_records(dataset, data):
    """Every non-blank line became one record with checked values."""
    records = dataset.load_data_list()
    assert len(records) == sum(
        bool(line.strip()) for line in physical_lines(data)
    )
    for record in records:
        labels = record['label']
        labels = labels if isinstance(labels, list) else [labels]
        limit = dataset.num_classes or float('inf')
        assert labels and all(0 <= label < limit for label in labels)
        assert record.get('total_frames', 1) >= 1
        assert record.get('offset', 0) >= 0
        name = record.get('filename', record.get('frame_dir'))
        assert isinstance(name, str) and name.strip()


def check_error(layout, path, data, error):
    """The message names the file and its first bad line."""
    message = str(error)
    assert isinstance(error, BadAnnotationError)
    if message.startswith(f'{path}: not a UTF-8 text file'):
        with pytest.raises(UnicodeDecodeError):
            data.decode('utf-8')
        return
    if message == f'{path}: lists no samples (the file is empty or blank)':
        assert not any(line.strip() for line in physical_lines(data))
        return
    prefix = f'{path}, line '
    assert message.startswith(prefix), message
    number = int(message[len(prefix) :].split(':', 1)[0])
    problem = message.split(':', 1)[1].strip()
    assert problem, message
    text = physical_lines(data)
    assert text[number - 1].strip(), message
    # The lines before it parse; the named line alone does not.
    folder = osp.dirname(path)
    if any(line.strip() for line in text[: number - 1]):
        before = '\n'.join(text[: number - 1])
        parse(layout, write(folder, before, 'before.txt'))
    with pytest.raises(BadAnnotationError, match=', line 1: '):
        parse(layout, write(folder, text[number - 1], 'alone.txt'))


def check_well_formed(layout, folder, good):
    """A list of ``good`` (frames, label) rows in ``layout``'s format parses
    to exactly those labels.

    Args:
        layout (str): A key of ``LAYOUTS``.
        folder (str): Where to write the list.
        good (list[tuple[int, int]]): Valid (frames, label) rows.
    """
    _, kwargs = LAYOUTS[layout]
    delimiter = kwargs.get('delimiter', ' ')
    rows = []
    for index, (frames, label) in enumerate(good):
        if LAYOUTS[layout][0] is CheckedVideoDataset:
            rows.append(delimiter.join([f'v{index}.mp4', str(label)]))
        elif kwargs.get('with_offset'):
            rows.append(f'v{index} {index} {frames} {label}')
        else:
            rows.append(f'v{index} {frames} {label}')
    data = '\n'.join(rows) + '\n'
    dataset = parse(layout, write(folder, data))
    check_records(dataset, data)
    assert [record['label'] for record in dataset.load_data_list()] == [
        [label] if kwargs.get('multi_class') else label for _, label in good
    ]


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


def test_random_annotation_files_give_records_or_a_named_line(tmp_path):
    cases = Counter()

    @fuzz(800)
    @given(st.sampled_from(sorted(LAYOUTS)), documents)
    def random_file(layout, data):
        init_default_scope('mmaction')
        cases['random'] += 1
        path = write(str(tmp_path), data)
        try:
            dataset = parse(layout, path)
        except ValueError as error:
            check_error(layout, path, data, error)
            return
        cases['parsed'] += 1
        check_records(dataset, data)

    random_file()
    print(
        f'\nannotation fuzzing: {cases["random"]} random files '
        f'({cases["parsed"]} parsed, the rest a named ValueError)'
    )
    assert cases['random'] >= 400 and cases['parsed'] > 0


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_well_formed_lists_always_parse(layout, tmp_path):
    """Lines in the layout's own format, with valid numbers, all parse."""
    cases = Counter()

    @fuzz(60)
    @given(
        st.lists(
            st.tuples(st.integers(1, 300), st.integers(0, NUM_CLASSES - 1)),
            min_size=1,
            max_size=4,
        )
    )
    def well_formed(good):
        init_default_scope('mmaction')
        cases['well_formed'] += 1
        check_well_formed(layout, str(tmp_path), good)

    well_formed()
    assert cases['well_formed'] >= 50
