# P2SC3: as P2SC2 with three 2D convs per stream, predicting EM affinities
# (PmSCn §4.3); test reports the split and merge variation of information.
_base_ = ['../_base_/unet3d_1xb1-64x64x64-300k_fibsem-em.py']
model = dict(network=dict(op=dict(_delete_=True, type='pmscn', m=2, n=3)))
