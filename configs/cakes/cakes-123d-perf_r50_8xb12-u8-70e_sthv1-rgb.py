# CAKES_{1,2,3D} performance-priority, the released CAKES123D_P (Table 3:
# 33.5M, 43.9 GFLOPs, 47.2 top-1).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES123D_P')))
