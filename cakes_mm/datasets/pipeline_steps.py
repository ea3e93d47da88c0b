"""Finding steps in a video test pipeline, and the view it produces.

A step is found by its type without the registry scope, so
``'mmaction.CenterCrop'`` and ``'CenterCrop'`` are the same step. The tools
that rewrite a test pipeline (:mod:`cakes_mm.apis.pipeline`) and those that
size one test view (:mod:`cakes_mm.analysis.model_zoo`, the metafile tool)
read the pipeline through these functions.
"""

from typing import Optional, Sequence, Tuple

#: Test-time frame samplers; their ``clip_len`` is a view's frame count.
SAMPLERS = (
    'SampleFrames',
    'UniformSample',
    'UniformSampleFrames',
    'DenseSampleFrames',
)
#: Test-time crops; their ``crop_size`` is a view's side.
CROPS = ('CenterCrop', 'ThreeCrop')


def step_type(step: dict) -> str:
    """A pipeline step's type without its scope (``'mmaction.Resize'`` ->
    ``'Resize'``)."""
    return str(step.get('type')).split('.')[-1]


def step_index(steps: Sequence[dict], types: Sequence[str]) -> Optional[int]:
    """The index of the first step whose type is one of ``types``.

    Args:
        steps (Sequence[dict]): The pipeline.
        types (Sequence[str]): Step types, without scope.

    Returns:
        int | None: The index, or None when no step has one of the types.
    """
    return next(
        (i for i, step in enumerate(steps) if step_type(step) in types),
        None,
    )


def view_shape(
    steps: Sequence[dict], default: Optional[Tuple[int, int]] = None
) -> Optional[Tuple[int, ...]]:
    """(1, 3, T, S, S), one view of a video test pipeline: T is the first
    sampler's ``clip_len`` and S the first crop's side (a rectangular
    crop's first side).

    Args:
        steps (Sequence[dict]): The test pipeline.
        default (tuple[int, int], optional): (T, S) to use for a pipeline
            without a sampler or without a crop. Defaults to None.

    Returns:
        tuple[int, ...] | None: The shape; None when the pipeline lacks a
        sampler or a crop and there is no ``default``.
    """
    sampler, crop = step_index(steps, SAMPLERS), step_index(steps, CROPS)
    if default is None and (sampler is None or crop is None):
        return None
    frames, side = default or (None, None)
    if sampler is not None:
        frames = steps[sampler]['clip_len']
    if crop is not None:
        size = steps[crop]['crop_size']
        side = size if isinstance(size, int) else size[0]
    return (1, 3, frames, side, side)
