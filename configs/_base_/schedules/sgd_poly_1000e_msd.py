# The CAKES medical recipe: SGD, lr 0.01 with polynomial decay (power 0.9),
# momentum 0.9, weight decay 4e-5, for a total batch of 8 (4 GPUs x 2).
# The length, 1000 epochs of the 226 training volumes (about 28k
# iterations), and the validation every 100 epochs are our choice: the
# paper does not give them.
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=1000,
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
        end=1000,
        convert_to_iter_based=True,
    )
]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=4e-5)
)

# The learning rate above is for a total batch of 8; --auto-scale-lr scales
# it linearly to the actual one.
auto_scale_lr = dict(enable=False, base_batch_size=8)
