# P1SC1 3D DenseNet: each 3x3x3 conv replaced by one stream of a 2D and a 1D
# conv (PmSCn Fig. 5d: 4.7 M params), segmenting T1 brain MRI into
# background, CSF, GM and WM on IBSR.
_base_ = ['../_base_/densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py']
model = dict(network=dict(op=dict(_delete_=True, type='pmscn', m=1, n=1)))
