# CAKES_{1,2,3D} performance-priority with 16 frames (Table 4: 87.8 GFLOPs,
# 49.4 top-1).
_base_ = ['../_base_/cakes_r50_16x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(arch='CAKES123D_P')))
