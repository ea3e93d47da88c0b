# As cakes-123d-perf_r50_8x1x1_sthv1_authors-test.py, for the released
# 16-frame weights: the 16 segment-centre frames. Only the test pipeline
# differs from cakes/cakes-123d-perf_r50_16x1x1_sthv1.py.
_base_ = [
    './cakes/cakes-123d-perf_r50_16x1x1_sthv1.py',
    './_base_/datasets/sthv1_authors_test_sampler.py',
]

sampler = _base_.authors_test_sampler
sampler.transforms[0].num_clips = 16
test_pipeline = [sampler, *_base_.val_pipeline[1:]]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
