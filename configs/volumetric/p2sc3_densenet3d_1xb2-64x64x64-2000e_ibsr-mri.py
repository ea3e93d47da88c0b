# P2SC3 3D DenseNet (the paper's best MRI model): two parallel streams of
# three 2D convs and one 1D conv (PmSCn Fig. 5d: 1.4 M params), segmenting T1
# brain MRI into background, CSF, GM and WM on IBSR.
_base_ = ['../_base_/densenet3d_1xb2-64x64x64-2000e_ibsr-mri.py']
model = dict(network=dict(op=dict(_delete_=True, type='pmscn', m=2, n=3)))
