# C2FNAS_3D on MSD pancreas (CAKES Table 1: 22.50 M params, 188.48 GFLOPs,
# average Dice 63.96): every replaceable conv 3x3x3.
_base_ = ['../_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']
model = dict(network=dict(op=dict(type='conv3d')))
