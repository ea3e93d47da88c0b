# The demo's CAKES_{1,2D} manual model: every block's middle conv splits its
# channels evenly between 1xkxk (2D spatial) and kx1x1 (1D temporal)
# sub-kernels. Same width, data and schedule as the C2D baseline it inherits;
# the temporal channels let it tell the direction of motion.
_base_ = ['c2d_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py']
model = dict(
    backbone=dict(
        op=dict(_delete_=True, type='cakes', op_set=['1xkxk', 'kx1x1'])
    )
)
