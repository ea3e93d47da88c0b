# CAKES_{1,2,3D} performance-priority with 16 frames (Table 4: 87.8 GFLOPs,
# 49.4 top-1).
_base_ = ['../_base_/r50_8xb12-u16-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES123D_P')))
