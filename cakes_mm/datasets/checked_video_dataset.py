"""``VideoDataset`` that names the annotation line or video at fault."""

import os.path as osp
from typing import List

from mmaction.datasets import VideoDataset
from mmaction.datasets.transforms import (
    DecordDecode,
    DecordInit,
    OpenCVDecode,
    OpenCVInit,
    PyAVDecode,
    PyAVInit,
)
from mmaction.registry import DATASETS

from .annotation import read_annotation
from .sample_checks import SampleChecksMixin


@DATASETS.register_module()
class CheckedVideoDataset(SampleChecksMixin, VideoDataset):
    """mmaction2's ``VideoDataset`` with checked input.

    Takes the same arguments and annotation format
    (``filename label [label ...]``, split by ``delimiter``). On top:

    * a line with the wrong number of fields, a non-integer label or a label
      outside ``num_classes`` raises :class:`BadAnnotationError` naming the
      file and line (every line needs a label);
    * a video that decord (or PyAV, OpenCV) cannot open or decode, e.g. a
      corrupt or truncated file, raises :class:`BadSampleError` naming the
      file, the reason, the sample index and the annotation line.

    Pass ``skip_bad_samples=True`` to skip such videos in training instead
    (see :class:`SampleChecksMixin`).
    """

    decode_transforms = (
        DecordInit,
        DecordDecode,
        PyAVInit,
        PyAVDecode,
        OpenCVInit,
        OpenCVDecode,
    )

    def load_data_list(self) -> List[dict]:
        """Parse and check the annotation file."""
        delimiter = None if self.delimiter == ' ' else self.delimiter
        data_list = []
        for line in read_annotation(
            self.ann_file, delimiter, allow_empty=False
        ):
            line.expect_fields(
                ['filename', 'label'], more_allowed=self.multi_class
            )
            filename = line.name(0, 'filename')
            if self.data_prefix['video'] is not None:
                filename = osp.join(self.data_prefix['video'], filename)
            labels = line.labels(1, self.num_classes)
            data_list.append(
                dict(
                    filename=filename,
                    ann_line=line.where,
                    label=labels if self.multi_class else labels[0],
                )
            )
        return data_list
