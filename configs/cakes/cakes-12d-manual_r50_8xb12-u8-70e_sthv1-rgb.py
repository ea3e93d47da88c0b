# CAKES_{1,2D} manual: each width split evenly over 2D and 1D (Table 3: 20.1M,
# 28.0 GFLOPs).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(
    backbone=dict(
        op=dict(_delete_=True, type='cakes', op_set=['1xkxk', 'kx1x1'])
    )
)
