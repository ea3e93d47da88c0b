# What every CAKES search on C2FNAS shares: the MSD-pancreas setup with the
# replaceable convs as searched layers over all seven sub-kernels (the
# paper's op set for medical data), each channel's op derived by argmax of
# alpha = |gamma| of its searched norm; no weight decay on those norms
# (their scales are the path weights); the search hook. The configs set
# `mode`: 'performance' samples one op per channel each iteration, 'cost'
# runs every op and adds the lasso `loss_alpha` (lambda 1e-4, beta = kernel
# volume / 39: 9/13, 3/13, 1/13). The search runs the full schedule; the
# choice is frozen after epoch 750 (our choice: the paper does not say) and
# the fixed subnet fine-tuned for the rest. The found arch is then
# retrained from scratch (cakes-123d-perf-retrain_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct).
_base_ = ['./c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']

model = dict(
    network=dict(
        op=dict(
            _delete_=True,
            type='cakes_search',
            op_set=[
                'kxkxk',
                '1xkxk',
                'kx1xk',
                'kxkx1',
                'kx1x1',
                '1xkx1',
                '1x1xk',
            ],
            mode='performance',
            derive='argmax',
        )
    ),
    arch_loss=dict(type='CostLasso', loss_weight=1e-4),
)

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'.search_bn.': dict(decay_mult=0.0)})
)

custom_hooks = [dict(type='CAKESSearchHook', interval=10, freeze_at=750)]

# After the freeze, an op that no channel of a layer chose is not computed
# at all; DDP must be told that some parameters may get no gradient.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True
)
