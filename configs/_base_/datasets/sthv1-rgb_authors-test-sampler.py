# The frames the CAKES authors test on (github.com/yucornetto/CAKES,
# dataset.py, VideoDataSet._get_val_indices): split the video into 8 equal
# segments and take the frame at each segment's centre, frame
# int(tick / 2 + tick * i) + 1 with tick = total_frames / 8.
#
# mmaction2's UniformSample (the sthv1 configs' test sampler) picks other
# frames in most videos. SampleFrames' test rule for one-frame clips is
# exactly the authors', but it calls the 8 frames 8 clips of one frame;
# KeyMapper swaps its clip_len and num_clips on the way out, so that the rest
# of the pipeline sees one clip of 8 frames, as the 3D model needs. Set
# transforms[0].num_clips for another number of segments.
authors_test_sampler = dict(
    type='KeyMapper',
    transforms=[
        dict(
            type='SampleFrames',
            clip_len=1,
            frame_interval=1,
            num_clips=8,
            test_mode=True,
        )
    ],
    mapping=dict(
        frame_inds='frame_inds',
        frame_interval='frame_interval',
        clip_len='num_clips',
        num_clips='clip_len',
    ),
    allow_nonexist_keys=True,
)
