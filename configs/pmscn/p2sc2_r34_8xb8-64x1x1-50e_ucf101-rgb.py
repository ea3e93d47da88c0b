# P2SC2 ResNet-34 (the paper's best UCF101 model, Fig. 4b row 5): each basic
# block's pair of 3x3x3 convs becomes one unit of two parallel streams, each
# of two 2D convs and one 1D conv.
_base_ = ['./c3d_r34_8xb8-64x1x1-50e_ucf101-rgb.py']
model = dict(backbone=dict(op=dict(type='pmscn', m=2, n=2)))
