# The PmSCn EM setting: Adam (the paper's optimizer) for 300k iterations of
# one crop each. The learning rate 1e-4, kept constant, and validation
# every 10k iterations are our choice: the paper leaves them to its
# supplement.
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=300000,
    val_begin=10000,
    val_interval=10000,
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = []

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.0)
)

auto_scale_lr = dict(enable=False, base_batch_size=1)
