# CAKES_{1,2D} cost-priority (dagger), the released CAKES12D_C (Table 3: 20.5M,
# 29.3 GFLOPs, 46.8 top-1).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES12D_C')))
