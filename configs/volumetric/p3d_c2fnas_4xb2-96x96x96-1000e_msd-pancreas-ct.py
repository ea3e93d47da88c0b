# C2FNAS_P3D on MSD pancreas (CAKES Table 1: 13.16 M, 112.88 GFLOPs,
# average Dice 62.82): every replaceable conv 3x3x1 then 1x1x3.
_base_ = ['../_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']
model = dict(network=dict(op=dict(type='p3d')))
