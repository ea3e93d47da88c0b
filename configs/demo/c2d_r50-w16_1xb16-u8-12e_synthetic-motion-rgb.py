# The demo's 2D baseline: C2D (every channel 1xkxk), a ResNet-50 of a quarter
# width (base_channels=16) trained from scratch on the synthetic motion set
# at 8x32x32. Frames are processed independently and averaged, so it cannot
# tell a pair of classes apart (order-blind ceiling: 50% top-1).
_base_ = [
    '../_base_/models/cakes_r50.py',
    '../_base_/datasets/synthetic-motion-rgb_videos_u8.py',
    '../_base_/default_runtime.py',
]
base_channels = 16
model = dict(
    # From scratch, zero-initialised residual branches stall the learning of
    # temporal features on this small set; keep the default init instead.
    backbone=dict(
        op=dict(_delete_=True, type='conv2d'),
        base_channels=base_channels,
        zero_init_residual=False,
    ),
    cls_head=dict(
        num_classes={{_base_.num_classes}}, in_channels=base_channels * 32
    ),
)

max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=1,
    val_interval=4,
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=0,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=20, norm_type=2),
)

# One device: the learning rate is for a total batch of 16.
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=1, max_keep_ckpts=1, save_best=None),
)
randomness = dict(seed=0)
