"""A folder of numbered frame images, as mmaction2's ``RawFrameDecode``
reads it: its file name template, first index and frame count."""

import os
import os.path as osp
import re
from collections import Counter
from typing import List, NamedTuple, Optional

from ..datasets import BadInputError

#: Image extensions a frame may have (case-insensitive).
FRAME_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
#: ``prefix``, then the frame number, then an image extension.
_NUMBERED = re.compile(r'^(.*?)(\d+)(\.[A-Za-z]+)$')
#: Where numbering starts when a template is given: 0 or 1 (mmaction2's
#: ``start_index`` conventions).
_FIRST_INDICES = (0, 1)


class FrameFolder(NamedTuple):
    """What ``RawFrameDecode`` and the frame samplers need of a folder.

    Attributes:
        frame_dir (str): The folder.
        filename_tmpl (str): e.g. ``'img_{:05}.jpg'``.
        start_index (int): Number of the first frame.
        total_frames (int): Frames, numbered consecutively from
            ``start_index``.
    """

    frame_dir: str
    filename_tmpl: str
    start_index: int
    total_frames: int


def scan_frame_folder(
    folder: str, filename_tmpl: Optional[str] = None
) -> FrameFolder:
    """Find the frames of ``folder``.

    Without a template, the most common ``<prefix><number><extension>``
    pattern among the folder's images is taken: ``{:0N}`` when the numbers
    are zero-padded to N digits, else ``{}``. The frames must be numbered
    consecutively from the smallest number.

    Args:
        folder (str): The folder of frames.
        filename_tmpl (str, optional): The file name template, e.g.
            ``'img_{:05}.jpg'``; numbering then starts at 0 or 1, whichever
            exists. Defaults to None: detect it.

    Returns:
        FrameFolder: The folder's template, first index and frame count.

    Raises:
        BadInputError: When no frames are found, or numbers are missing.
    """
    if filename_tmpl is not None:
        return _with_template(folder, filename_tmpl)
    names = [
        name
        for name in os.listdir(folder)
        if name.lower().endswith(FRAME_EXTENSIONS)
    ]
    matches = [m for m in map(_NUMBERED.match, names) if m]
    if not matches:
        raise BadInputError(
            f'{folder}: no numbered frame images '
            f'({", ".join(FRAME_EXTENSIONS)}, e.g. img_00001.jpg) in the '
            f'folder; give a folder of frames or a video file'
        )
    (prefix, suffix), _ = Counter(
        (m.group(1), m.group(3)) for m in matches
    ).most_common(1)[0]
    digits = [
        m.group(2)
        for m in matches
        if (m.group(1), m.group(3)) == (prefix, suffix)
    ]
    template = _escape(prefix) + _number_field(digits) + _escape(suffix)
    numbers = sorted(int(text) for text in digits)
    _check_consecutive(folder, template, numbers)
    return FrameFolder(folder, template, numbers[0], len(numbers))


def _with_template(folder: str, filename_tmpl: str) -> FrameFolder:
    """The frames named by a given template."""
    try:
        numbered = filename_tmpl.format(0) != filename_tmpl.format(1)
    except (IndexError, KeyError, ValueError):
        numbered = False
    if not numbered:
        raise BadInputError(
            f'filename template {filename_tmpl!r} has no number field; give '
            f"one like 'img_{{:05}}.jpg'"
        )
    first = next(
        (
            index
            for index in _FIRST_INDICES
            if osp.isfile(osp.join(folder, filename_tmpl.format(index)))
        ),
        None,
    )
    if first is None:
        raise BadInputError(
            f'{folder}: no frame named '
            f'{" or ".join(filename_tmpl.format(i) for i in _FIRST_INDICES)}'
            f' (filename template {filename_tmpl!r}); check the template'
        )
    count = 0
    while osp.isfile(osp.join(folder, filename_tmpl.format(first + count))):
        count += 1
    return FrameFolder(folder, filename_tmpl, first, count)


def _escape(text: str) -> str:
    """``text`` as literal text of a ``str.format`` template."""
    return text.replace('{', '{{').replace('}', '}}')


def _number_field(digits: List[str]) -> str:
    """``{:0N}`` for numbers zero-padded to N digits, else ``{}``."""
    widths = {len(text) for text in digits}
    padded = any(len(text) > 1 and text.startswith('0') for text in digits)
    return f'{{:0{widths.pop()}}}' if padded and len(widths) == 1 else '{}'


def _check_consecutive(folder: str, template: str, numbers: List[int]) -> None:
    """Raise if a number between the first and the last frame is missing."""
    expected = range(numbers[0], numbers[0] + len(numbers))
    missing = next((n for n, got in zip(expected, numbers) if n != got), None)
    if missing is not None:
        raise BadInputError(
            f'{folder}: frame {template.format(missing)} is missing between '
            f'{template.format(numbers[0])} and {template.format(numbers[-1])}'
            f'; frames must be numbered consecutively'
        )
