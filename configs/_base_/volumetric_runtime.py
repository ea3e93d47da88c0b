# Our runtime (atomic checkpoints, a stop at the first NaN/inf loss, random
# generator states in checkpoints so that a resumed run draws what an
# unbroken one would: bitwise for epoch-based runs with num_workers=0), for
# the volumetric configs: checkpoints every 100 epochs, the last 3 kept, and
# the best by Dice.
_base_ = ['./default_runtime.py']

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        interval=100, max_keep_ckpts=3, save_best='dice/mean', rule='greater'
    ),
)
