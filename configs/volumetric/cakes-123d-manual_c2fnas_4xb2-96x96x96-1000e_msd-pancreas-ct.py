# CAKES_1,2,3D manual on C2FNAS, MSD pancreas (CAKES Table 1: 11.41 M,
# 99.17 GFLOPs): each replaceable conv's channels split uniformly over all
# seven sub-kernels, the remainder to 3x3x3.
_base_ = ['../_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']
model = dict(
    network=dict(
        op=dict(
            _delete_=True,
            type='cakes',
            op_set=[
                'kxkxk',
                '1xkxk',
                'kx1xk',
                'kxkx1',
                'kx1x1',
                '1xkx1',
                '1x1xk',
            ],
        )
    )
)
