# mmaction2's runtime, with the runner and hooks every run of ours has:
# - checkpoints loaded only when they fit the model, naming the first key
#   that does not, and refused in one line when they hold code
#   (CheckedRunner);
# - checkpoints and `last_checkpoint` written atomically, so a run killed
#   mid-write can always --resume (AtomicCheckpointHook);
# - training stops at the first NaN/inf loss, naming the iteration, before a
#   checkpoint of the broken weights is written (FiniteLossHook);
# - the random generators' states go into every checkpoint, so a resumed run
#   draws what an unbroken one would (RandomStateHook).
_base_ = ['mmaction::_base_/default_runtime.py']

runner_type = 'CheckedRunner'

default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),
    finite_loss=dict(type='FiniteLossHook'),
    random_state=dict(type='RandomStateHook'),
)
