# The PmSCn MRI setting: Adam (the paper's optimizer) on 11 training
# subjects. The learning rate 1e-3 with polynomial decay (power 0.9), the
# 2000 epochs of 11 crops (about 12k iterations at batch 2) and validation
# every 100 epochs are our choice: the paper leaves them to its supplement.
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=2000,
    val_begin=100,
    val_interval=100,
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=2000,
        convert_to_iter_based=True,
    )
]

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-5)
)

auto_scale_lr = dict(enable=False, base_batch_size=2)
