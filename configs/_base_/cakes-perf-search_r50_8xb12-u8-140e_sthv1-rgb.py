# Performance-priority search, as the public code runs it: 140 epochs with
# learning-rate steps at 100 and 120; each channel draws one op per step.
_base_ = ['./cakes-search_r50_8xb12-u8-70e_sthv1-rgb.py']

model = dict(backbone=dict(op=dict(mode='performance')))

train_cfg = dict(max_epochs=140)
# The warm-up stays; the step schedule is stretched to 140 epochs.
param_scheduler = _base_.param_scheduler
param_scheduler[1].end = 140
param_scheduler[1].milestones = [100, 120]
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=100)]
