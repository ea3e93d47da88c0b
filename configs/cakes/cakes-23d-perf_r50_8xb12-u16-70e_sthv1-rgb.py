# CAKES_{2,3D} performance-priority with 16 frames (Table 4: 101.4 GFLOPs, 48.6
# top-1).
_base_ = ['../_base_/r50_8xb12-u16-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES23D_P')))
