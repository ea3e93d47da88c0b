"""Annotation lines and error messages (cakes_mm.datasets.annotation, .errors)."""

import pytest
from tool_helpers import write_lines

from cakes_mm.datasets import (
    BadAnnotationError,
    BadSampleError,
    error_reason,
    read_annotation,
    short_message,
)


def test_lines_keep_their_numbers_and_fields(tmp_path):
    ann = write_lines(
        str(tmp_path / 'ann.txt'), ['a 10 1', '', '  b   12 2  ', 'c;d']
    )
    lines = read_annotation(ann)
    assert [line.number for line in lines] == [1, 3, 4]
    assert lines[1].fields == ('b', '12', '2')
    assert lines[1].where == f'{ann}, line 3'
    assert read_annotation(ann, delimiter=';')[2].fields == ('c', 'd')


def test_wrong_field_count_names_the_line(tmp_path):
    ann = write_lines(str(tmp_path / 'ann.txt'), ['a 10 1', 'b 12'])
    line = read_annotation(ann)[1]
    with pytest.raises(
        BadAnnotationError,
        match=r'ann.txt, line 2: expected 3 fields .*found 2',
    ):
        line.expect_fields(['frame_dir', 'total_frames', 'label'])
    read_annotation(ann)[0].expect_fields(['dir', 'frames'], more_allowed=True)


def test_integers_and_labels_are_checked(tmp_path):
    ann = write_lines(str(tmp_path / 'ann.txt'), ['a x 1', 'b 3 7 2'])
    first, second = read_annotation(ann)
    with pytest.raises(
        BadAnnotationError,
        match="line 1: total_frames must be an integer, got 'x'",
    ):
        first.integer(1, 'total_frames')
    with pytest.raises(BadAnnotationError, match='at least 5, got 3'):
        second.integer(1, 'total_frames', minimum=5)
    assert second.labels(2, num_classes=8) == [7, 2]
    with pytest.raises(
        BadAnnotationError, match=r'line 2: label 7 is outside the 5 classes'
    ):
        second.labels(2, num_classes=5)


def test_missing_and_binary_files_are_named(tmp_path):
    with pytest.raises(
        BadAnnotationError, match='absent.txt: annotation file not found'
    ):
        read_annotation(str(tmp_path / 'absent.txt'))
    binary = tmp_path / 'binary.txt'
    binary.write_bytes(b'\xff\xfe\x00bad')
    with pytest.raises(BadAnnotationError, match='binary.txt: not a UTF-8'):
        read_annotation(str(binary))


def test_error_reason_drops_decord_prefix():
    error = RuntimeError(
        '[05:48:05] /src/video/video_reader.cc:151: Check '
        'failed: st_nb >= 0\nmore detail'
    )
    assert error_reason(error) == 'Check failed: st_nb >= 0'
    assert error_reason(ValueError()) == 'ValueError'


def test_short_message_unwraps_dataloader_worker_errors():
    plain = BadSampleError('/v/a.mp4: cannot read it')
    assert short_message(plain) == '/v/a.mp4: cannot read it'
    wrapped = BadSampleError(
        'Caught BadSampleError in DataLoader worker process 0.\nOriginal '
        'Traceback (most recent call last):\n  File "x.py", line 1\n'
        'cakes_mm.datasets.errors.BadSampleError: /v/a.mp4: cannot read it'
    )
    assert short_message(wrapped) == '/v/a.mp4: cannot read it'
