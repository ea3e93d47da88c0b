# CAKES_{2,3D} performance-priority with 16 frames (Table 4: 101.4 GFLOPs, 48.6
# top-1).
_base_ = ['../_base_/cakes_r50_16x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(arch='CAKES23D_P')))
