# mmaction2's runtime for the volumetric configs, with this project's two
# safety hooks: stop at the first NaN/inf loss, naming the iteration, before
# a checkpoint of the broken weights can be written; save the random
# generators' states in checkpoints, so that a resumed run draws what an
# unbroken one would (bitwise, for epoch-based runs with num_workers=0).
# Checkpoints: every 100 epochs, the last 3 kept, and the best by Dice.
_base_ = ['mmaction::_base_/default_runtime.py']

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        interval=100, max_keep_ckpts=3, save_best='dice/mean',
        rule='greater'),
    finite_loss=dict(type='FiniteLossHook'),
    random_state=dict(type='RandomStateHook'))
