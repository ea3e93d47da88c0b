# CAKES_{1,2,3D} performance-priority search (released result: CAKES123D_P).
_base_ = ['../_base_/cakes-perf-search_r50_8xb12-u8-140e_sthv1-rgb.py']
model = dict(backbone=dict(op=dict(op_set=['kxkxk', '1xkxk', 'kx1x1'])))
