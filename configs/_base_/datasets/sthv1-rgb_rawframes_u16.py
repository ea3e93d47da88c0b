# sthv1 rawframes with 16 TSN segments per clip instead of 8.
_base_ = ['./sthv1-rgb_rawframes_u8.py']

train_pipeline = _base_.train_pipeline
train_pipeline[0].clip_len = 16
val_pipeline = _base_.val_pipeline
val_pipeline[0].clip_len = 16
test_pipeline = val_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
