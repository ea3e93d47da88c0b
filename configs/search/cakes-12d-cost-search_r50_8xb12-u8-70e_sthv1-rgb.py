# CAKES_{1,2D} cost-priority search, lambda 1e-4, beta = volume / 39 (released
# result: CAKES12D_C).
_base_ = ['../_base_/cakes-search_r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(op_set=['1xkxk', 'kx1x1'])))
