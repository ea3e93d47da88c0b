# Tests CAKES_{1,2,3D} (released CAKES123D_P) on sthv1 as the authors tested
# their released 8-frame weights: one clip of the 8 segment-centre frames,
# short side 256, centre crop 224, ImageNet mean/std. For checkpoints
# converted with tools/convert_models/cakes_official_to_mm.py; see
# docs/authors_weights.md. Only the test pipeline differs from
# cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py.
_base_ = [
    './cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
    '../_base_/datasets/sthv1-rgb_authors-test-sampler.py',
]

test_pipeline = [_base_.authors_test_sampler, *_base_.val_pipeline[1:]]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
