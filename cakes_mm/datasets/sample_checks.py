"""Per-sample checks shared by the checked datasets.

A dataset mixing in :class:`SampleChecksMixin` checks each sample's files
against its annotation before the pipeline runs, and turns a failure of a
decoding transform into a :class:`BadSampleError` naming the file and the
annotation line. Every such error goes to :meth:`on_bad_sample`.
"""
from typing import Any, Optional, Tuple

from .errors import BadSampleError, error_reason


class SampleChecksMixin:
    """Checks for an mmengine ``BaseDataset`` subclass; put it first.

    Subclasses set ``decode_transforms`` and may override
    :meth:`check_sample`. Data infos carry ``ann_line``, the annotation line
    they came from.
    """

    #: Transforms whose failure means the sample's file is bad.
    decode_transforms: Tuple[type, ...] = ()

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
                    f'({error_reason(error)}); listed at '
                    f'{data_info["ann_line"]}') from None
            if data_info is None:
                return None
        return data_info

    def on_bad_sample(self, idx: int, error: BadSampleError) -> Any:
        """Handle a sample that cannot be loaded: stop the run.

        This is the one place that decides what a bad sample does. An opt-in
        skip belongs here: returning None instead of raising makes
        mmengine's ``BaseDataset.__getitem__`` draw another sample in
        training (test mode refuses None).

        Args:
            idx (int): Index of the bad sample.
            error (BadSampleError): What is wrong with it.

        Raises:
            BadSampleError: Always.
        """
        raise error
