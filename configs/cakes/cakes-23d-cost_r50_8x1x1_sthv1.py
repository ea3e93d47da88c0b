# CAKES_{2,3D} cost-priority (dagger), the released CAKES23D_C (Table 3: 35.7M,
# 41.4 GFLOPs).
_base_ = ['../_base_/cakes_r50_8x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(arch='CAKES23D_C')))
