# CAKES_{1,2,3D}, performance-priority: the released CAKES123D_P architecture
# (paper Table 3: 33.5M params, 43.9 GFLOPs, 47.2 top-1 on sthv1).
_base_ = [
    '../_base_/models/cakes_r50.py', '../_base_/datasets/sthv1_rawframes_8x1x1.py',
    '../_base_/schedules/sgd_70e_sthv1.py', 'mmaction::_base_/default_runtime.py'
]
model = dict(backbone=dict(arch='CAKES123D_P'))
