# CAKES_{2,3D} manual: each width split evenly over 3D and 2D (Table 3: 35.2M,
# 47.7 GFLOPs).
_base_ = ['../_base_/r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(
    backbone=dict(
        op=dict(_delete_=True, type='cakes', op_set=['kxkxk', '1xkxk'])
    )
)
