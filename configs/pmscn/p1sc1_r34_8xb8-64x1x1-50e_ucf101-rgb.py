# P1SC1 ResNet-34: each 3x3x3 conv becomes one stream of a (1,3,3) conv, BN,
# ReLU and a (3,1,1) conv, i.e. R(2+1)D, with Eq. 5's width M (~3D params).
_base_ = ['./c3d_r34_8xb8-64x1x1-50e_ucf101-rgb.py']
model = dict(backbone=dict(op=dict(type='pmscn', m=1, n=1)))
