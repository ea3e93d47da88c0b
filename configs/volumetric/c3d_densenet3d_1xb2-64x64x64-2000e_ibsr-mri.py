# The 3D DenseNet baseline (every replaceable conv 3x3x3; PmSCn Fig. 5d: 5.2
# M params), segmenting T1 brain MRI into background, CSF, GM and WM on IBSR.
_base_ = ['../_base_/densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py']
model = dict(network=dict(op=dict(type='conv3d')))
