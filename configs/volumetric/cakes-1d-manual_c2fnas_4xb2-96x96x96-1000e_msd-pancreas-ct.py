# CAKES_1D manual on C2FNAS, MSD pancreas (CAKES Table 1: 7.56 M, 67.53
# GFLOPs): each replaceable conv's channels split uniformly over the three
# 1D sub-kernels, the remainder to the first.
_base_ = ['../_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']
model = dict(
    network=dict(
        op=dict(
            _delete_=True, type='cakes', op_set=['kx1x1', '1xkx1', '1x1xk']
        )
    )
)
