"""cakes_mm.datasets.pipeline_steps: steps found by type, and the view a
test pipeline produces."""

from cakes_mm.datasets.pipeline_steps import step_index, view_shape

PIPELINE = [
    dict(type='mmaction.DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=1, num_clips=1),
    dict(type='mmaction.Resize', scale=(-1, 128)),
    dict(type='mmaction.ThreeCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
]


def test_steps_are_found_without_their_scope():
    assert step_index(PIPELINE, ('ThreeCrop', 'CenterCrop')) == 3
    assert step_index(PIPELINE, ('Resize',)) == 2
    assert step_index(PIPELINE, ('RawFrameDecode',)) is None


def test_a_view_is_the_sampler_clip_and_the_crop_side():
    assert view_shape(PIPELINE) == (1, 3, 16, 112, 112)
    rectangle = [PIPELINE[1], dict(type='CenterCrop', crop_size=(96, 64))]
    assert view_shape(rectangle) == (1, 3, 16, 96, 96)


def test_what_the_pipeline_lacks_comes_from_the_default():
    without_crop = PIPELINE[:3]
    assert view_shape(without_crop) is None
    assert view_shape(without_crop, default=(8, 224)) == (1, 3, 16, 224, 224)
    assert view_shape([], default=(8, 224)) == (1, 3, 8, 224, 224)
