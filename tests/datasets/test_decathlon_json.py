"""dataset.json parsing and the split by list or by fold."""

import os.path as osp

import pytest
from volumetric_helpers import write_json

from cakes_mm.datasets import BadAnnotationError
from cakes_mm.datasets.volumetric import (
    assign_folds,
    class_names,
    load_decathlon_json,
    read_cases,
    select_cases,
)
from cakes_mm.datasets.volumetric.decathlon_json import (
    VolumeCase,
    fold_of_position,
)


def entries(count, with_fold=None):
    """``count`` entries; ``with_fold(i)`` gives entry i a fold."""
    rows = []
    for i in range(count):
        row = dict(
            image=f'imagesTr/c{i}.nii.gz', label=f'labelsTr/c{i}.nii.gz'
        )
        if with_fold is not None:
            row['fold'] = with_fold(i)
        rows.append(row)
    return rows


def write_text(path, text):
    with open(path, 'w') as file:
        file.write(text)
    return str(path)


def test_paths_join_the_data_root_or_the_json_folder(tmp_path):
    path = write_json(str(tmp_path / 'a' / 'dataset.json'), entries(2))
    index = load_decathlon_json(path)
    cases = read_cases(index, path, 'training')
    assert cases[1].image == osp.join(
        str(tmp_path), 'a', 'imagesTr', 'c1.nii.gz'
    )
    assert cases[1].entry == f'{path}: training[1]'
    other = read_cases(index, path, 'training', data_root='/data/x')
    assert other[0].label == '/data/x/labelsTr/c0.nii.gz'


@pytest.mark.parametrize(
    'text, reason',
    [
        ('{"labels": ', 'not valid JSON'),
        ('[1, 2]', 'top level must be a JSON object'),
        ('{"training": []}', '"labels" must map'),
        (
            '{"labels": {"0": "bg", "2": "x"}, "training": []}',
            '"labels" must map',
        ),
    ],
)
def test_malformed_file_names_the_file(tmp_path, text, reason):
    path = write_text(tmp_path / 'dataset.json', text)
    with pytest.raises(BadAnnotationError, match=reason) as info:
        load_decathlon_json(path)
    assert str(info.value).startswith(f'{path}: ')
    assert '\n' not in str(info.value)


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nope.json')
    with pytest.raises(BadAnnotationError, match=f'{path}: file not found'):
        load_decathlon_json(path)


@pytest.mark.parametrize(
    'entry, reason',
    [
        ('x.nii.gz', r'training\[1\]: must be \{"image"'),
        (
            dict(image='x.nii.gz'),
            r'training\[1\]: "label" must be a file path',
        ),
        (dict(image='x.nii.gz', label=''), r'"label" must be a file path'),
        (dict(image=3, label='y'), r'training\[1\]: "image" must be'),
        (dict(image='x', label='y', fold=-1), r'"fold" must be an integer'),
        (
            dict(image='imagesTr/c0.nii.gz', label='y'),
            r'training\[1\]: image .*c0.nii.gz is already listed at .*training\[0\]',
        ),
    ],
)
def test_malformed_entry_names_file_and_entry(tmp_path, entry, reason):
    path = write_json(str(tmp_path / 'dataset.json'), [entries(1)[0], entry])
    index = load_decathlon_json(path)
    with pytest.raises(BadAnnotationError, match=reason) as info:
        read_cases(index, path, 'training')
    assert str(info.value).startswith(f'{path}: training[1]')


def test_missing_list_is_named(tmp_path):
    path = write_json(str(tmp_path / 'dataset.json'), entries(2))
    index = load_decathlon_json(path)
    with pytest.raises(
        BadAnnotationError, match=f'{path}: has no "validation" list'
    ):
        select_cases(index, path, 'val')


@pytest.mark.parametrize('num_cases, num_folds', [(82, 4), (282, 5), (7, 3)])
def test_folds_are_contiguous_near_equal_blocks(num_cases, num_folds):
    folds = [
        fold_of_position(p, num_cases, num_folds) for p in range(num_cases)
    ]
    assert folds == sorted(folds)
    sizes = [folds.count(f) for f in range(num_folds)]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == num_cases


def test_fold_assignment_ignores_the_list_order():
    cases = [
        VolumeCase(f'/d/c{i:02}', f'/l/c{i:02}', f'e{i}') for i in range(10)
    ]
    shuffled = [cases[i] for i in (3, 9, 0, 7, 1, 8, 2, 6, 4, 5)]
    by_image = dict(zip((c.image for c in cases), assign_folds(cases, 5)))
    assert by_image == dict(
        zip((c.image for c in shuffled), assign_folds(shuffled, 5))
    )
    assert [by_image[c.image] for c in cases] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_fold_split_partitions_training(tmp_path):
    path = write_json(str(tmp_path / 'dataset.json'), entries(10))
    index = load_decathlon_json(path)
    all_images = {c.image for c in read_cases(index, path, 'training')}
    seen = set()
    for fold in range(3):
        train = {c.image for c in select_cases(index, path, 'train', fold, 3)}
        val = {c.image for c in select_cases(index, path, 'val', fold, 3)}
        assert train | val == all_images and not train & val
        assert not val & seen
        seen |= val
    assert seen == all_images


def test_fold_keys_in_the_json_win(tmp_path):
    path = write_json(
        str(tmp_path / 'dataset.json'),
        entries(6, with_fold=lambda i: (i * 7) % 3),
    )
    index = load_decathlon_json(path)
    val = select_cases(index, path, 'val', 1, 3)
    assert [osp.basename(c.image) for c in val] == ['c1.nii.gz', 'c4.nii.gz']


def test_fold_keys_must_be_on_all_entries_and_below_num_folds(tmp_path):
    rows = entries(3, with_fold=lambda i: i)
    del rows[2]['fold']
    path = write_json(str(tmp_path / 'dataset.json'), rows)
    index = load_decathlon_json(path)
    with pytest.raises(
        BadAnnotationError, match=r'training\[2\]: has no "fold" while'
    ):
        select_cases(index, path, 'train', 0, 3)
    path = write_json(
        str(tmp_path / 'dataset.json'), entries(3, with_fold=lambda i: i)
    )
    with pytest.raises(
        BadAnnotationError, match=r'training\[2\]: fold 2 is not below'
    ):
        select_cases(load_decathlon_json(path), path, 'train', 0, 2)


def test_class_names_follow_the_label_values(tmp_path):
    path = write_json(
        str(tmp_path / 'dataset.json'),
        entries(1),
        labels={'2': 'tumour', '0': 'background', '1': 'organ'},
    )
    assert class_names(load_decathlon_json(path), path) == [
        'background',
        'organ',
        'tumour',
    ]
