# The 3D UNet baseline (every replaceable conv 3x3x3), predicting EM
# affinities (PmSCn §4.3); test reports the split and merge variation of
# information.
_base_ = ['../_base_/unet3d_64x64x64_fibsem-affinities.py']
model = dict(network=dict(op=dict(type='conv3d')))
