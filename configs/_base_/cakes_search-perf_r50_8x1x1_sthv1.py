# Performance-priority search, as the public code runs it: 140 epochs with
# learning-rate steps at 100 and 120; each channel draws one op per step.
_base_ = ['./cakes_search_r50_8x1x1_sthv1.py']

model = dict(backbone=dict(search_mode='performance'))

train_cfg = dict(max_epochs=140)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='MultiStepLR',
        begin=0,
        end=140,
        by_epoch=True,
        milestones=[100, 120],
        gamma=0.1)
]
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=100)]
