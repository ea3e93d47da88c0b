"""tools/data/ucf101/build_file_list.py and cakes_mm.datasets.ucf101_lists:
mmaction2 video lists from the official UCF101 split files."""

import os.path as osp

import pytest
from tool_helpers import run_tool

from cakes_mm.datasets.ucf101_lists import AnnotationError, build_file_lists

# The official files use CRLF line ends; the HandstandPushups videos are
# named with another case than their class.
CLASS_IND = '1 ApplyEyeMakeup\r\n2 Archery\r\n3 HandstandPushups\r\n'
TRAIN = (
    'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n'
    'HandstandPushups/v_HandStandPushups_g08_c01.avi 3\r\n\r\n'
    'Archery/v_Archery_g08_c02.avi 2\r\n'
)
TEST = (
    'Archery/v_Archery_g01_c01.avi\r\n'
    'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\n'
)


def write_official(
    folder, class_ind=CLASS_IND, train=TRAIN, test=TEST, split=1
):
    folder.mkdir(exist_ok=True)
    (folder / 'classInd.txt').write_bytes(class_ind.encode())
    (folder / f'trainlist0{split}.txt').write_bytes(train.encode())
    (folder / f'testlist0{split}.txt').write_bytes(test.encode())
    return folder


def test_builds_train_and_val_lists_with_0_based_labels(tmp_path):
    ann = write_official(tmp_path / 'ucfTrainTestlist')
    train = tmp_path / 'out' / 'ucf101_train_split_1_videos.txt'
    val = tmp_path / 'out' / 'ucf101_val_split_1_videos.txt'
    assert build_file_lists(str(ann), 1, str(tmp_path / 'out')) == [
        str(train),
        str(val),
    ]
    assert train.read_text() == (
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 0\n'
        'HandstandPushups/v_HandStandPushups_g08_c01.avi 2\n'
        'Archery/v_Archery_g08_c02.avi 1\n'
    )
    assert val.read_text() == (
        'Archery/v_Archery_g01_c01.avi 1\n'
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi'
        ' 0\n'
    )


def test_the_tool_writes_another_split_beside_the_lists(tmp_path):
    ann = write_official(tmp_path / 'lists', split=2)
    result = run_tool(
        ['data/ucf101/build_file_list.py', str(ann), '--split', '2'],
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    train = osp.join(tmp_path, 'ucf101_train_split_2_videos.txt')
    val = osp.join(tmp_path, 'ucf101_val_split_2_videos.txt')
    assert result.stdout.splitlines() == [
        f'{train}: 3 videos',
        f'{val}: 2 videos',
    ]


@pytest.mark.parametrize(
    'class_ind, message',
    [
        ('1 ApplyEyeMakeup\n2\n', r'classInd.txt:2: expected "<index> '),
        ('one ApplyEyeMakeup\n', r'classInd.txt:1: expected'),
        (
            '1 Archery\n2 archery\n',
            r"classInd.txt:2: class 'archery' is listed",
        ),
        ('1 Archery\n3 ApplyEyeMakeup\n', r'indices must be 1..2'),
    ],
)
def test_malformed_class_index(tmp_path, class_ind, message):
    ann = write_official(tmp_path / 'ann', class_ind=class_ind)
    with pytest.raises(AnnotationError, match=message):
        build_file_lists(str(ann), 1, str(tmp_path))


@pytest.mark.parametrize(
    'train, message',
    [
        (
            'Archery/v_Archery_g08_c02.avi 1\n',
            r'trainlist01.txt:1: label '
            r"'1' does not match class 'Archery' \(index 2",
        ),
        ('Archery/a.avi 2\nArchery/b.avi x\n', r'trainlist01.txt:2: label'),
        ('v_Archery_g08_c02.avi 2\n', r'trainlist01.txt:1: expected'),
        ('Archery/a.avi 2 extra\n', r'trainlist01.txt:1: expected'),
        (
            'Archery/a.avi 2\nFencing/v_Fencing.avi 4\n',
            r"trainlist01.txt:2: class folder 'Fencing' is not in classInd",
        ),
    ],
)
def test_malformed_split_list(tmp_path, train, message):
    ann = write_official(tmp_path / 'ann', train=train)
    with pytest.raises(AnnotationError, match=message):
        build_file_lists(str(ann), 1, str(tmp_path))


def test_a_bad_test_list_leaves_existing_lists_untouched(tmp_path):
    train_list = tmp_path / 'ucf101_train_split_1_videos.txt'
    train_list.write_text('kept 0\n')
    ann = write_official(tmp_path / 'ann', test='Unknown/v.avi\n')
    with pytest.raises(AnnotationError, match='testlist01.txt:1'):
        build_file_lists(str(ann), 1, str(tmp_path))
    assert train_list.read_text() == 'kept 0\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'ann',
        train_list.name,
    ]


def test_missing_file_and_bad_split(tmp_path):
    with pytest.raises(FileNotFoundError, match='classInd.txt'):
        build_file_lists(str(tmp_path), 1, str(tmp_path))
    with pytest.raises(ValueError, match='splits 1, 2 and 3'):
        build_file_lists(str(tmp_path), 4, str(tmp_path))
