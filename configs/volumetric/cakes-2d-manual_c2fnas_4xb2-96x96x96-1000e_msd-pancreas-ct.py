# CAKES_2D manual on C2FNAS, MSD pancreas (CAKES Table 1: 11.29 M, 97.77
# GFLOPs, average Dice 63.13): each replaceable conv's channels split
# uniformly over the three 2D sub-kernels, the remainder to the first.
_base_ = ['../_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']
model = dict(
    network=dict(
        op=dict(
            _delete_=True, type='cakes', op_set=['1xkxk', 'kx1xk', 'kxkx1']
        )
    )
)
