# Tests CAKES_{1,2,3D} (released CAKES123D_P) on sthv1 the way the authors
# evaluated their released weights (github.com/yucornetto/CAKES, dataset.py
# and main.py), for checkpoints converted with
# tools/convert_models/cakes_official_to_mm.py. See docs/authors_weights.md.
#
# One clip of 8 frames: frame int(tick / 2 + tick * i) + 1 of each of 8
# equal segments (tick = total_frames / 8), short side 256, centre crop 224,
# ImageNet mean/std. mmaction2's UniformSample (the training configs' test
# sampler) picks other frames in most videos, so this config samples with
# SampleFrames, whose test rule for one-frame clips is exactly the authors'.
# SampleFrames calls the 8 frames 8 one-frame clips; KeyMapper swaps its
# clip_len and num_clips on the way out, so that from then on they are one
# clip of 8 frames for the 3D model.
_base_ = ['./cakes/cakes-123d-perf_r50_8x1x1_sthv1.py']

num_segments = 8
test_pipeline = [
    dict(
        type='KeyMapper',
        transforms=[
            dict(
                type='SampleFrames',
                clip_len=1,
                frame_interval=1,
                num_clips=num_segments,
                test_mode=True)
        ],
        mapping=dict(
            frame_inds='frame_inds',
            frame_interval='frame_interval',
            clip_len='num_clips',
            num_clips='clip_len'),
        allow_nonexist_keys=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
