# CAKES_{1,2D} performance-priority search (released result: CAKES12D_P).
_base_ = ['../_base_/cakes_search-perf_r50_8x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(op_set=['1xkxk', 'kx1x1'])))
