# The MRI demo's planar 2D row: every conv of the demo's UNet is a 3x3x1
# (kxkx1) CAKES conv, in the axial plane (the volume's first two axes are
# x and y, RAS), as a slice-by-slice 2D network would see the brain. Same
# params and FLOPs as the CAKES 2D row, which mixes three planes.
_base_ = ['c3d_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py']
model = dict(
    network=dict(op=dict(_delete_=True, type='cakes', op_set=['kxkx1']))
)
