# CAKES_1,2,3D cost-priority search on C2FNAS, MSD pancreas (the paper's
# CAKES-dagger: 9.72 M, 87.16 GFLOPs after retraining): every sub-kernel
# runs on every channel and the lasso `loss_alpha` (lambda 1e-4, beta 9/13,
# 3/13, 1/13 for 3D, 2D, 1D) pushes the path weights of expensive ones
# towards zero.
_base_ = [
    '../_base_/cakes-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
]
model = dict(
    network=dict(op=dict(mode='cost')),
    arch_loss=dict(type='CostLasso', loss_weight=1e-4, beta=None),
)
