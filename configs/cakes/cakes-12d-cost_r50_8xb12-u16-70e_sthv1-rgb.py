# CAKES_{1,2D} cost-priority (dagger) with 16 frames (Table 4: 58.6 GFLOPs,
# 48.0 top-1).
_base_ = ['../_base_/r50_8xb12-u16-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES12D_C')))
