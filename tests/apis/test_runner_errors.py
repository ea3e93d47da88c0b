"""One-line reports of bad input, shared by every tool."""

import pytest

from cakes_mm.apis.runner import (
    INPUT_ERRORS,
    one_line_report,
    run_reporting_bad_input,
)
from cakes_mm.datasets import BadInputError


def test_bad_input_is_one_line_and_status_1(capsys):
    def main():
        raise BadInputError('train.txt, line 3: label 9 >= num_classes 6')

    with pytest.raises(SystemExit) as exit_info:
        run_reporting_bad_input(main)
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == (
        'error: train.txt, line 3: label 9 >= num_classes 6\n'
    )


def test_a_missing_file_is_bad_input(capsys):
    def main():
        open('/nonexistent/cakes_mm/video.mp4')

    with pytest.raises(SystemExit):
        run_reporting_bad_input(main)
    error = capsys.readouterr().err
    assert error.startswith('error: [Errno 2] No such file or directory')
    assert "'/nonexistent/cakes_mm/video.mp4'" in error


def test_other_errors_keep_their_traceback():
    def main():
        raise ValueError('a bug, not bad input')

    assert not issubclass(ValueError, INPUT_ERRORS)
    with pytest.raises(ValueError, match='a bug'):
        run_reporting_bad_input(main)


def test_a_data_loader_workers_traceback_is_left_out():
    error = BadInputError(
        'Caught BadInputError in DataLoader worker process 0.\n'
        'Traceback (most recent call last):\n'
        '  File "worker.py", line 1\n'
        'cakes_mm.datasets.errors.BadInputError: a.mp4: cannot be decoded'
    )
    assert one_line_report(error) == 'error: a.mp4: cannot be decoded'
