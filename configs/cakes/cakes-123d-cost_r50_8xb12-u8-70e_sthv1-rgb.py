# CAKES_{1,2,3D} cost-priority (dagger), the released CAKES123D_C (Table 3:
# 35.0M, 38.7 GFLOPs).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES123D_C')))
