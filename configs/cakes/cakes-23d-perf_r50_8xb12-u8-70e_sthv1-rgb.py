# CAKES_{2,3D} performance-priority, the released CAKES23D_P (Table 3: 37.5M,
# 50.7 GFLOPs, 47.4 top-1).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES23D_P')))
