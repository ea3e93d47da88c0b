# CAKES_{1,2D} cost-priority search, lambda 1e-4, beta = volume / 39 (released
# result: CAKES12D_C).
_base_ = ['../_base_/cakes_search_r50_8x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(op_set=['1xkxk', 'kx1x1'])))
