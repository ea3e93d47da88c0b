# CAKES_{1,2D} cost-priority (dagger), the released CAKES12D_C (Table 3: 20.5M,
# 29.3 GFLOPs, 46.8 top-1).
_base_ = ['../_base_/cakes_r50_8x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(arch='CAKES12D_C')))
