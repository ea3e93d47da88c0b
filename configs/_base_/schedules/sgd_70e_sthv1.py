# The CAKES sthv1 recipe: SGD momentum 0.9 at batch 96 (8 GPUs x 12), lr 0.04
# for 50 epochs then x0.1 every 10 epochs, 70 epochs. From the public code:
# weight decay 3e-4 (none on BN and bias), gradient clipping at 20 and a
# 5-epoch linear warm-up.
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=70, val_begin=1, val_interval=5
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True,
    ),
    dict(
        type='MultiStepLR',
        begin=0,
        end=70,
        by_epoch=True,
        milestones=[50, 60],
        gamma=0.1,
    ),
]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.04, momentum=0.9, weight_decay=3e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=20, norm_type=2),
)

# The learning rate above is for a total batch of 96; --auto-scale-lr scales
# it linearly to the actual one.
auto_scale_lr = dict(enable=False, base_batch_size=96)
