# What every CAKES search config shares: the CAKES ResNet-50 sthv1 setup,
# with the backbone turned into a search supernet (CAKESResNetSupernet; its
# op's op_set is set by each config), a recognizer that adds the cost-priority
# lasso `loss_alpha` (lambda 1e-4, beta = kernel volume / 39), the search
# hook, and no weight decay on the searched norms (their scales are the path
# weights alpha). The schedule here is the 70-epoch one of the cost-priority
# search; performance-priority configs inherit
# cakes-perf-search_r50_8xb12-u8-140e_sthv1-rgb.py for 140 epochs.
_base_ = ['./r50_8xb12-u8-70e_sthv1-rgb.py']

model = dict(
    type='CAKESRecognizer3D',
    # _delete_: the supernet searches the arch (the base config names one).
    backbone=dict(
        type='CAKESResNetSupernet',
        op=dict(
            _delete_=True, type='cakes_search', mode='cost', derive='argmax'
        ),
    ),
    arch_loss=dict(type='CostLasso', loss_weight=1e-4),
)

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'.search_bn.': dict(decay_mult=0.0)})
)

# Freeze at the first learning-rate step (our choice: the paper does not
# say), then fine-tune the fixed subnet for the remaining epochs.
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=50)]

# After the freeze, an op that no channel of a layer chose is not computed
# at all; DDP must be told that some parameters may get no gradient.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True
)
