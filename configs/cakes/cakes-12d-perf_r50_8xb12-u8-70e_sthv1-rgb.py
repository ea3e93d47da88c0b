# CAKES_{1,2D} performance-priority, the released CAKES12D_P (Table 3 lists
# 21.2M, 29.5 GFLOPs for the paper's own search; the released arch is about
# 20.9M).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(arch='CAKES12D_P')))
