"""Per-sample checks shared by the checked datasets.

A dataset mixing in :class:`SampleChecksMixin` checks each sample's files
against its annotation before the pipeline runs, and turns a failure of a
decoding transform into a :class:`BadSampleError` naming the file, the
sample index and the annotation line. Every such error goes to
:meth:`~SampleChecksMixin.on_bad_sample`, which stops the run, or, with
``skip_bad_samples=True`` in training, logs the sample once and skips it.
"""

import logging
from typing import Any, Optional, Set, Tuple

from mmengine.logging import print_log

from .errors import BadSampleError, error_reason


class SampleChecksMixin:
    """Checks for an mmengine ``BaseDataset`` subclass; put it first.

    Subclasses set ``decode_transforms`` and may override
    :meth:`check_sample` and :meth:`decode_failure_reason`. Data infos carry
    ``ann_line``, the annotation line they came from.

    Args:
        skip_bad_samples (bool): In training, skip a sample whose file
            cannot be read instead of stopping the run: the sample is logged
            once (a warning naming the file, the sample index and the
            annotation line) and mmengine draws another one in its place, so
            a corrupt file costs one sample. A skipped sample is not read
            again. With workers, "once" holds per worker process (all
            epochs with ``persistent_workers=True``, otherwise per epoch).
            In test mode (validation, testing) a bad sample still stops the
            run, since dropping it would change the metric. Defaults to
            False: the first bad sample raises :class:`BadSampleError`.
    """

    #: Transforms whose failure means the sample's file is bad.
    decode_transforms: Tuple[type, ...] = ()

    def __init__(
        self, *args, skip_bad_samples: bool = False, **kwargs
    ) -> None:
        self.skip_bad_samples = skip_bad_samples
        self.skipped_samples: Set[int] = set()
        super().__init__(*args, **kwargs)

    def check_sample(self, data_info: dict) -> None:
        """Raise :class:`BadSampleError` if the sample's files do not match
        its annotation. The default checks nothing.

        Args:
            data_info (dict): The sample's data info.
        """

    def prepare_data(self, idx: int) -> Any:
        """Check sample ``idx``, then run the pipeline on it.

        Args:
            idx (int): Sample index.

        Returns:
            Any: The pipeline's output, or what :meth:`on_bad_sample`
            returns for a bad sample.
        """
        if idx in self.skipped_samples:
            return None
        data_info = self.get_data_info(idx)
        try:
            self.check_sample(data_info)
            return self.run_pipeline(data_info)
        except BadSampleError as error:
            return self.on_bad_sample(idx, error)

    def run_pipeline(self, data_info: dict) -> Optional[dict]:
        """Run the transforms, naming the sample if a decoder fails.

        Args:
            data_info (dict): The sample's data info.

        Returns:
            dict, optional: The result, or None if a transform dropped it.
        """
        sample = data_info.get('filename', data_info.get('frame_dir'))
        for transform in self.pipeline.transforms:
            try:
                data_info = transform(data_info)
            except Exception as error:
                if not isinstance(transform, self.decode_transforms):
                    raise
                raise BadSampleError(
                    f'{sample}: {type(transform).__name__} cannot read it '
                    f'({self.decode_failure_reason(data_info, error)}); '
                    f'sample {data_info["sample_idx"]}, listed at '
                    f'{data_info["ann_line"]}'
                ) from None
            if data_info is None:
                return None
        return data_info

    def decode_failure_reason(self, data_info: dict, error: Exception) -> str:
        """Why a decoding transform failed on a sample, in a few words.

        Args:
            data_info (dict): The sample as the failing transform got it.
            error (Exception): What the transform raised.

        Returns:
            str: The library's own first line (decord's prefix removed).
        """
        return error_reason(error)

    def on_bad_sample(self, idx: int, error: BadSampleError) -> Any:
        """Handle a sample that cannot be loaded.

        This is the one place that decides what a bad sample does. Without
        ``skip_bad_samples`` (or in test mode) it raises. Otherwise it logs
        the sample once, remembers it and returns None, which makes
        mmengine's ``BaseDataset.__getitem__`` draw another sample.

        Args:
            idx (int): Index of the bad sample.
            error (BadSampleError): What is wrong with it.

        Returns:
            None: When the sample is skipped.

        Raises:
            BadSampleError: When bad samples are not skipped.
        """
        if not self.skip_bad_samples or self.test_mode:
            raise error
        self.skipped_samples.add(idx)
        print_log(
            f'skip_bad_samples: skipped {error}',
            logger='current',
            level=logging.WARNING,
        )
        return None
