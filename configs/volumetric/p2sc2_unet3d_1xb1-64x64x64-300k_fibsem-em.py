# P2SC2 (the paper's best EM model): each pair of consecutive 3x3x3 convs of
# a UNet level replaced by two parallel streams of two 2D convs and one 1D
# conv, predicting EM affinities (PmSCn §4.3); test reports the split and
# merge variation of information.
_base_ = ['../_base_/unet3d_1xb1-64x64x64-300k_fibsem-em.py']
model = dict(network=dict(op=dict(_delete_=True, type='pmscn', m=2, n=2)))
