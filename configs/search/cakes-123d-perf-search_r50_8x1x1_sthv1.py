# CAKES_{1,2,3D} performance-priority search (released result: CAKES123D_P).
_base_ = ['../_base_/cakes_search-perf_r50_8x1x1_sthv1.py']
model = dict(backbone=dict(op=dict(op_set=['kxkxk', '1xkxk', 'kx1x1'])))
