# As cakes_r50_8x1x1_sthv1.py, with 16 TSN segments per clip.
_base_ = [
    './models/cakes_r50.py', './datasets/sthv1_rawframes_16x1x1.py',
    './schedules/sgd_70e_sthv1.py', 'mmaction::_base_/default_runtime.py'
]

# Stop at the first NaN/inf loss, naming the iteration, before a checkpoint
# of the broken weights can be written; save the random generators' states
# in checkpoints, so a resumed run draws what an unbroken one would.
default_hooks = dict(
    finite_loss=dict(type='FiniteLossHook'),
    random_state=dict(type='RandomStateHook'))
