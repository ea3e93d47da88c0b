# P1SC1: each 3x3x3 conv of the UNet replaced by one stream of a 2D and a 1D
# conv, predicting EM affinities (PmSCn §4.3); test reports the split and
# merge variation of information.
_base_ = ['../_base_/unet3d_1xb1-64x64x64-300k_fibsem-em.py']
model = dict(network=dict(op=dict(_delete_=True, type='pmscn', m=1, n=1)))
