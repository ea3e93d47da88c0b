# C3D baseline: every middle conv is 3x3x3 (Table 3: 46.5M, 62.6 GFLOPs, 46.8
# top-1).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(_delete_=True, type='conv3d')))
