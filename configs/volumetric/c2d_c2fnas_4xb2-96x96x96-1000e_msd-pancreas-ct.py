# C2FNAS_2D on MSD pancreas (CAKES Table 1: 11.29 M, 97.77 GFLOPs, average
# Dice 61.09): every replaceable conv 3x3x1.
_base_ = ['../_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']
model = dict(network=dict(op=dict(type='conv2d')))
