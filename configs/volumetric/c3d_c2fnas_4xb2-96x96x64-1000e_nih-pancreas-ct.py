# C2FNAS_3D on NIH pancreas: 96x96x64 crops, 2 classes, sliding window
# 96x96x64 at stride 20, fold 0 of 4 held out (set `fold` on the three
# dataloaders' datasets for the others).
_base_ = ['../_base_/c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py']
model = dict(network=dict(op=dict(type='conv3d')))
