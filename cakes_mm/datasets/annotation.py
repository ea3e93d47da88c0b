"""Reading annotation lists line by line, with errors that name the line.

mmaction2's list files hold one sample per line, whitespace-separated
(``folder total_frames label`` for frames, ``file label`` for videos).
"""

import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .errors import BadAnnotationError


@dataclass(frozen=True)
class AnnotationLine:
    """One non-empty line of an annotation file.

    Args:
        ann_file (str): The annotation file.
        number (int): The 1-based line number.
        fields (tuple[str]): The line's fields.
    """

    ann_file: str
    number: int
    fields: Tuple[str, ...]

    @property
    def where(self) -> str:
        """``"<ann_file>, line <number>"``."""
        return f'{self.ann_file}, line {self.number}'

    def error(self, problem: str) -> BadAnnotationError:
        """An error about this line."""
        return BadAnnotationError(f'{self.where}: {problem}')

    def expect_fields(
        self, layout: Sequence[str], more_allowed: bool = False
    ) -> None:
        """Check the field count against ``layout``.

        Args:
            layout (Sequence[str]): Names of the expected fields.
            more_allowed (bool): Whether extra fields (more labels) may
                follow. Defaults to False.
        """
        count = len(self.fields)
        if count == len(layout) or (more_allowed and count > len(layout)):
            return
        expected = ' '.join(layout) + (' ...' if more_allowed else '')
        raise self.error(
            f'expected {len(layout)}'
            f'{" or more" if more_allowed else ""} fields '
            f'({expected}), found {count}: '
            f'{" ".join(self.fields)!r}'
        )

    def name(self, index: int, what: str) -> str:
        """Field ``index``, which must not be empty.

        Args:
            index (int): Field index.
            what (str): The field's name, for the message.

        Returns:
            str: The field.
        """
        if not self.fields[index]:
            raise self.error(f'{what} is empty')
        return self.fields[index]

    def integer(self, index: int, name: str, minimum: int = 0) -> int:
        """Field ``index`` as an integer of at least ``minimum``.

        Args:
            index (int): Field index.
            name (str): The field's name, for the message.
            minimum (int): The smallest valid value. Defaults to 0.

        Returns:
            int: The value.
        """
        text = self.fields[index]
        try:
            value = int(text)
        except ValueError:
            raise self.error(
                f'{name} must be an integer, got {text!r}'
            ) from None
        if value < minimum:
            raise self.error(f'{name} must be at least {minimum}, got {value}')
        return value

    def labels(self, start: int, num_classes: Optional[int]) -> List[int]:
        """Fields ``start:`` as class labels, checked against ``num_classes``.

        Args:
            start (int): Index of the first label field.
            num_classes (int, optional): Number of classes; labels must lie
                in ``[0, num_classes)``. None checks only that they are
                non-negative.

        Returns:
            list[int]: The labels.
        """
        labels = [
            self.integer(i, 'label') for i in range(start, len(self.fields))
        ]
        for label in labels:
            if num_classes is not None and label >= num_classes:
                raise self.error(
                    f'label {label} is outside the '
                    f'{num_classes} classes (0..'
                    f'{num_classes - 1})'
                )
        return labels


def read_annotation(
    ann_file: str, delimiter: Optional[str] = None, allow_empty: bool = True
) -> List[AnnotationLine]:
    """The non-empty lines of an annotation file, split into fields.

    Lines end at LF, CR LF or CR, so line numbers are the ones an editor
    shows; other characters that Python counts as line breaks (form feed,
    U+2028 ...) stay inside a line. A UTF-8 byte-order mark at the start is
    dropped.

    Args:
        ann_file (str): Path to the file.
        delimiter (str, optional): Field separator; None splits on any
            whitespace. Defaults to None.
        allow_empty (bool): Whether a file without any non-empty line is
            fine. Defaults to True.

    Returns:
        list[AnnotationLine]: One entry per non-empty line.
    """
    if not osp.isfile(ann_file):
        raise BadAnnotationError(f'{ann_file}: annotation file not found')
    try:
        with open(ann_file, encoding='utf-8-sig') as file:
            texts = file.read().split('\n')
    except UnicodeDecodeError as error:
        raise BadAnnotationError(
            f'{ann_file}: not a UTF-8 text file '
            f'({error.reason} at byte {error.start})'
        ) from None
    lines = [
        AnnotationLine(
            ann_file,
            number,
            tuple(field.strip() for field in text.strip().split(delimiter)),
        )
        for number, text in enumerate(texts, 1)
        if text.strip()
    ]
    if not lines and not allow_empty:
        raise BadAnnotationError(
            f'{ann_file}: lists no samples (the file is empty or blank)'
        )
    return lines
