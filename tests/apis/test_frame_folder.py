"""cakes_mm.apis.frame_folder: a folder's frame template, start and count."""

import pytest

from cakes_mm.apis import FrameFolder, scan_frame_folder
from cakes_mm.datasets import BadInputError


def touch_frames(folder, template, numbers):
    """Empty files named ``template.format(n)``: scanning reads names only."""
    folder.mkdir(exist_ok=True)
    for number in numbers:
        (folder / template.format(number)).write_bytes(b'')
    return str(folder)


@pytest.mark.parametrize(
    'template,start,count',
    [
        ('img_{:05}.jpg', 1, 12),  # mmaction2's layout
        ('{:05}.jpg', 1, 3),  # sthv1's
        ('frame{}.png', 0, 12),  # unpadded: widths 1 and 2
        ('clip{{7}}-{:03}.JPEG', 5, 4),  # braces and upper case kept literal
        ('x{}.bmp', 10, 5),  # two digits throughout, no padding
    ],
)
def test_detects_template_start_and_count(tmp_path, template, start, count):
    folder = touch_frames(
        tmp_path / 'frames', template, range(start, start + count)
    )
    (tmp_path / 'frames' / 'notes.txt').write_text('not a frame')
    found = scan_frame_folder(folder)
    assert found == FrameFolder(folder, template, start, count)
    for number in range(start, start + count):  # it names every frame
        assert (
            tmp_path / 'frames' / found.filename_tmpl.format(number)
        ).is_file()


def test_the_most_common_pattern_wins(tmp_path):
    folder = touch_frames(tmp_path / 'frames', 'img_{:05}.jpg', range(1, 9))
    touch_frames(tmp_path / 'frames', 'flow_x_{:05}.jpg', range(1, 3))
    assert scan_frame_folder(folder).filename_tmpl == 'img_{:05}.jpg'


def test_a_gap_in_the_numbers_is_named(tmp_path):
    folder = touch_frames(tmp_path / 'frames', 'img_{:05}.jpg', [1, 2, 4])
    with pytest.raises(
        BadInputError,
        match=r'frame img_00003\.jpg is '
        r'missing between img_00001\.jpg and img_00004\.jpg',
    ):
        scan_frame_folder(folder)


def test_a_folder_without_frames(tmp_path):
    folder = touch_frames(tmp_path / 'frames', 'readme{}.txt', [1])
    with pytest.raises(
        BadInputError, match='frames: no numbered frame images'
    ):
        scan_frame_folder(folder)


@pytest.mark.parametrize('start', [0, 1])
def test_a_given_template_starts_at_0_or_1(tmp_path, start):
    folder = touch_frames(
        tmp_path / 'frames', 'f_{:04}.png', range(start, start + 6)
    )
    assert scan_frame_folder(folder, 'f_{:04}.png') == FrameFolder(
        folder, 'f_{:04}.png', start, 6
    )


def test_a_given_template_that_names_nothing(tmp_path):
    folder = touch_frames(tmp_path / 'frames', 'img_{:05}.jpg', [1, 2])
    with pytest.raises(
        BadInputError,
        match=r'no frame named 0\.jpg or '
        r"1\.jpg \(filename template '\{\}\.jpg'\)",
    ):
        scan_frame_folder(folder, '{}.jpg')
    with pytest.raises(BadInputError, match="'img.jpg' has no number field"):
        scan_frame_folder(folder, 'img.jpg')
