# CAKES_{2,3D} cost-priority (dagger), the released CAKES23D_C (Table 3: 35.7M,
# 41.4 GFLOPs).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES23D_C')))
