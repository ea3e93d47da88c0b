# The MRI demo's PmSCn row: each level's two 3x3x3 convs of the demo's UNet
# become one P2SC2 unit (two parallel streams of 2D convs in different
# planes and a 1D conv), the pairing the PmSCn paper uses for its UNet.
_base_ = ['c3d_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py']
model = dict(network=dict(op=dict(_delete_=True, type='pmscn', m=2, n=2)))
