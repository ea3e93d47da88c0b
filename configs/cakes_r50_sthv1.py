# The flagship model: CAKES_{1,2,3D} performance-priority (released
# CAKES123D_P), 8 frames, sthv1. Same as
# cakes/cakes-123d-perf_r50_8x1x1_sthv1.py.
_base_ = ['./cakes/cakes-123d-perf_r50_8x1x1_sthv1.py']
