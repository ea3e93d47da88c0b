# CAKES_{1,2,3D} manual: each width split evenly over 3D, 2D and 1D, the
# remainder to 3D (not in Table 3).
_base_ = ['../_base_/cakes_r50_8x1x1_sthv1.py']
model = dict(
    backbone=dict(
        op=dict(
            _delete_=True, type='cakes', op_set=['kxkxk', '1xkxk', 'kx1x1']
        )
    )
)
