# CAKES_{1,2,3D} performance-priority with 16 frames (paper Table 4: 87.8
# GFLOPs, 49.4 top-1 on sthv1).
_base_ = ['./cakes-123d-perf_r50_8x1x1_sthv1.py']

train_pipeline = _base_.train_pipeline
train_pipeline[0].clip_len = 16
val_pipeline = _base_.val_pipeline
val_pipeline[0].clip_len = 16
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
