# CAKES_{1,2,3D} manual: each width split evenly over 3D, 2D and 1D, the
# remainder to 3D (not in Table 3).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(
    backbone=dict(
        op=dict(
            _delete_=True, type='cakes', op_set=['kxkxk', '1xkxk', 'kx1x1']
        )
    )
)
