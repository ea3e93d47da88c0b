# CAKES_{1,2D} performance-priority with 16 frames, the released CAKES12D_P.
_base_ = ['../_base_/cakes_r50_16x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(arch='CAKES12D_P')))
