# Adam from scratch, as in the PmSCn paper (which gives no learning rate,
# batch size or epoch count in its main text). Our choice: lr 1e-3 (Adam's
# usual default) for a total batch of 64 (8 GPUs x 8 clips), a one-epoch
# linear warm-up, then cosine decay to 1e-5 over 50 epochs; L2 weight decay
# 1e-5, none on BN and bias; gradient clipping at 40. The paper's Fig. 4a
# follows training for 50 epochs.
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=50, val_begin=1, val_interval=5
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
        T_max=49,
        eta_min=1e-5,
        by_epoch=True,
        begin=1,
        end=50,
        convert_to_iter_based=True,
    ),
]

optim_wrapper = dict(
    optimizer=dict(
        type='Adam', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-5
    ),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=40, norm_type=2),
)

# The learning rate above is for a total batch of 64; --auto-scale-lr
# scales it linearly to the actual one.
auto_scale_lr = dict(enable=False, base_batch_size=64)
