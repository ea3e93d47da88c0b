# P2SC1 ResNet-34: each 3x3x3 conv becomes two parallel streams, (1,3,3) then
# (3,1,1) and (3,3,1) then (1,1,3), concatenated on channels.
_base_ = ['./c3d_r34_8xb8-64x1x1-50e_ucf101-rgb.py']
model = dict(backbone=dict(op=dict(type='pmscn', m=2, n=1)))
