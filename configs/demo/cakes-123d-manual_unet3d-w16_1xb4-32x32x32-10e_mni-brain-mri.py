# The MRI demo's CAKES 1,2,3D row: each conv of the demo's UNet splits its
# output channels evenly between all seven sub-kernels (3D first, so it
# takes the remainder of each split).
_base_ = ['c3d_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py']
model = dict(
    network=dict(
        op=dict(
            _delete_=True,
            type='cakes',
            op_set=[
                'kxkxk',
                '1xkxk',
                'kx1x1',
                'kxkx1',
                'kx1xk',
                '1xkx1',
                '1x1xk',
            ],
        )
    )
)
