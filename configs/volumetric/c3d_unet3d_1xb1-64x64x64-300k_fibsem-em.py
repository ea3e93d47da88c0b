# The 3D UNet baseline (every replaceable conv 3x3x3), predicting EM
# affinities (PmSCn §4.3); test reports the split and merge variation of
# information.
_base_ = ['../_base_/unet3d_1xb1-64x64x64-300k_fibsem-em.py']
model = dict(network=dict(op=dict(type='conv3d')))
