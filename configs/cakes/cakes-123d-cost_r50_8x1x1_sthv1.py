# CAKES_{1,2,3D} cost-priority (dagger), the released CAKES123D_C (Table 3:
# 35.0M, 38.7 GFLOPs).
_base_ = ['../_base_/cakes_r50_8x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(arch='CAKES123D_C')))
