# As cakes-123d-perf-authors-test_r50_8xb12-u8-70e_sthv1-rgb.py, for the released
# 16-frame weights: the 16 segment-centre frames. Only the test pipeline
# differs from cakes/cakes-123d-perf_r50_8xb12-u16-70e_sthv1-rgb.py.
_base_ = [
    './cakes-123d-perf_r50_8xb12-u16-70e_sthv1-rgb.py',
    '../_base_/datasets/sthv1-rgb_authors-test-sampler.py',
]

sampler = _base_.authors_test_sampler
sampler.transforms[0].num_clips = 16
test_pipeline = [sampler, *_base_.val_pipeline[1:]]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
