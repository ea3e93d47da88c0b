# The MRI demo's CAKES 2D row: each conv of the demo's UNet splits its
# output channels evenly between the three 2D sub-kernels, sagittal
# (1xkxk), axial (kxkx1) and coronal (kx1xk).
_base_ = ['c3d_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py']
model = dict(
    network=dict(
        op=dict(
            _delete_=True, type='cakes', op_set=['1xkxk', 'kxkx1', 'kx1xk']
        )
    )
)
