# P2SC3 ResNet-34: each basic block's pair of 3x3x3 convs becomes one unit of
# two parallel streams, each of three 2D convs and one 1D conv; Eq. 5's
# widths of the pair are spread over the three 2D convs (see PmSCn).
_base_ = ['./c3d_r34_8xb8-64x1x1-50e_ucf101-rgb.py']
model = dict(backbone=dict(op=dict(type='pmscn', m=2, n=3)))
