# P3D baseline: a 1x3x3 conv C->C then a 3x1x1 conv C->C (Table 3: 27.6M, 37.9
# GFLOPs, 44.8 top-1).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(_delete_=True, type='p3d')))
