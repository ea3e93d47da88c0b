# CAKES_{1,2D} performance-priority with 16 frames, the released CAKES12D_P.
_base_ = ['../_base_/r50_8xb12-u16-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES12D_P')))
