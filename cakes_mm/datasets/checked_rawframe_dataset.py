"""``RawframeDataset`` that names the annotation line or folder at fault."""

import os
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np
from mmaction.datasets import RawframeDataset
from mmaction.datasets.transforms import RawFrameDecode
from mmaction.registry import DATASETS

from .annotation import read_annotation
from .errors import BadSampleError
from .sample_checks import SampleChecksMixin


@DATASETS.register_module()
class CheckedRawframeDataset(SampleChecksMixin, RawframeDataset):
    """mmaction2's ``RawframeDataset`` with checked input.

    Takes the same arguments and annotation format
    (``frame_dir [offset] total_frames label [label ...]``). On top:

    * a line with the wrong number of fields, a non-integer, or a label
      outside ``num_classes`` raises :class:`BadAnnotationError` naming the
      file and line (every line needs a label);
    * before a sample is loaded, its folder must exist and hold the last
      frame its annotation promises; otherwise :class:`BadSampleError` says
      how many of the frames are there;
    * a frame that cannot be read raises :class:`BadSampleError` naming the
      folder and the first sampled frame that is missing or not an image.

    Each :class:`BadSampleError` also gives the sample index. Pass
    ``skip_bad_samples=True`` to skip such samples in training (see
    :class:`SampleChecksMixin`). The frame checks assume local folders.
    """

    decode_transforms = (RawFrameDecode,)

    def load_data_list(self) -> List[dict]:
        """Parse and check the annotation file."""
        layout = (
            ['frame_dir']
            + (['offset'] if self.with_offset else [])
            + ['total_frames', 'label']
        )
        data_list = []
        for line in read_annotation(self.ann_file, allow_empty=False):
            line.expect_fields(layout, more_allowed=self.multi_class)
            frame_dir = line.name(0, 'frame_dir')
            if self.data_prefix['img'] is not None:
                frame_dir = osp.join(self.data_prefix['img'], frame_dir)
            info = dict(frame_dir=frame_dir, ann_line=line.where)
            if self.with_offset:
                info['offset'] = line.integer(1, 'offset')
            info['total_frames'] = line.integer(
                len(layout) - 2, 'total_frames', minimum=1
            )
            labels = line.labels(len(layout) - 1, self.num_classes)
            info['label'] = labels if self.multi_class else labels[0]
            data_list.append(info)
        return data_list

    def frame_files(self, frame_dir: str, index: int) -> List[str]:
        """The image files of frame ``index`` (x and y images for Flow)."""
        names = (
            [self.filename_tmpl.format(axis, index) for axis in 'xy']
            if self.modality == 'Flow'
            else [self.filename_tmpl.format(index)]
        )
        return [osp.join(frame_dir, name) for name in names]

    def frame_path(self, frame_dir: str, index: int) -> str:
        """Path of frame ``index`` (the x-flow image for Flow)."""
        return self.frame_files(frame_dir, index)[0]

    def unreadable_frame(self, data_info: dict) -> Optional[str]:
        """The first sampled frame that is missing or not an image.

        Args:
            data_info (dict): The sample after frame sampling
                (``frame_inds``).

        Returns:
            str, optional: e.g. ``"img_00003.jpg is missing"``; None when
            every sampled frame reads.
        """
        offset = data_info.get('offset', 0)
        indices = np.asarray(data_info.get('frame_inds', [])).ravel()
        for index in sorted(set(indices.tolist())):
            for path in self.frame_files(
                data_info['frame_dir'], int(index) + offset
            ):
                if not osp.isfile(path):
                    return f'{osp.basename(path)} is missing'
                data = np.fromfile(path, np.uint8)
                if (
                    data.size == 0
                    or cv2.imdecode(data, cv2.IMREAD_COLOR) is None
                ):
                    return (
                        f'{osp.basename(path)} is not a readable image '
                        f'({data.size} bytes)'
                    )
        return None

    def decode_failure_reason(self, data_info: dict, error: Exception) -> str:
        """The unreadable frame, else the decoder's own message."""
        return self.unreadable_frame(
            data_info
        ) or super().decode_failure_reason(data_info, error)

    def check_sample(self, data_info: dict) -> None:
        """The folder exists and holds the annotated number of frames."""
        frame_dir = data_info['frame_dir']
        if not osp.isdir(frame_dir):
            raise BadSampleError(
                f'{frame_dir}: frames folder not found; '
                f'listed at {data_info["ann_line"]} '
                f'(sample {data_info["sample_idx"]})'
            )
        first = self.start_index + data_info.get('offset', 0)
        total = data_info['total_frames']
        if osp.isfile(self.frame_path(frame_dir, first + total - 1)):
            return
        found = sum(
            osp.isfile(self.frame_path(frame_dir, index))
            for index in range(first, first + total)
        )
        raise BadSampleError(
            f'{frame_dir}: has {found} of the {total} frames '
            f'{data_info["ann_line"]} lists (expected '
            f'{osp.basename(self.frame_path(frame_dir, first))} .. '
            f'{osp.basename(self.frame_path(frame_dir, first + total - 1))}; '
            f'{len(os.listdir(frame_dir))} files in the folder; sample '
            f'{data_info["sample_idx"]})'
        )
