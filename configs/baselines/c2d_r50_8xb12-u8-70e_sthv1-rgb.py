# C2D baseline: every middle conv is 1x3x3 (Table 3: 23.9M, 33.0 GFLOPs, 17.2
# top-1).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(_delete_=True, type='conv2d')))
