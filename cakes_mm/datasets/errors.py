"""Errors for input data the run cannot use.

Each message names the annotation line or the file at fault, so the tools
print it as one line instead of a traceback from decord, OpenCV or pickle.
"""

import re

# decord prefixes its messages with "[hh:mm:ss] /path/to/source.cc:123: ".
_DECORD_PREFIX = re.compile(r'^\[\d{2}:\d{2}:\d{2}\] \S+:\d+: ')


class BadInputError(ValueError):
    """Input data the run cannot use; the message names the file or line."""


class BadAnnotationError(BadInputError):
    """A line of an annotation file is malformed or names an unknown label."""


class BadSampleError(BadInputError):
    """One sample (a video file or a frames folder) cannot be loaded."""


def error_reason(error: BaseException) -> str:
    """The first line of an error's message, without decord's prefix.

    Args:
        error (BaseException): An error raised by a decoding library.

    Returns:
        str: e.g. ``"Error reading 2000 bytes..."``, or the error's type
        name when it carries no message.
    """
    lines = [line for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return _DECORD_PREFIX.sub('', lines[0].strip())


def short_message(error: BaseException) -> str:
    """The message of a :class:`BadInputError` (or any error naming its
    file), for a one-line report.

    A DataLoader worker re-raises the error in the main process with the
    worker's traceback folded into the message; only the original message,
    on the last line, is kept.

    Args:
        error (BaseException): The error.

    Returns:
        str: The message naming the file or line.
    """
    text = str(error).strip()
    if not text.startswith('Caught '):
        return text
    last = text.splitlines()[-1]
    return last.split(': ', 1)[1] if ': ' in last else last
