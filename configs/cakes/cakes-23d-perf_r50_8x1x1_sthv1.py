# CAKES_{2,3D} performance-priority, the released CAKES23D_P (Table 3: 37.5M,
# 50.7 GFLOPs, 47.4 top-1).
_base_ = ['../_base_/cakes_r50_8x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(arch='CAKES23D_P')))
