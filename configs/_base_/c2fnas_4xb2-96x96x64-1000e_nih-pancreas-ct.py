# Everything a C2FNAS / CAKES NIH-pancreas config shares: the MSD-pancreas
# setup with 2 classes, 96x96x64 crops and a 96x96x64 sliding window at
# stride 20 (CAKES), fold 0 of 4 held out. Configs set model.network.op.
_base_ = [
    './models/c2fnas.py',
    './datasets/nih-pancreas-ct_96x96x64.py',
    './schedules/sgd_poly_1000e_msd.py',
    './volumetric_runtime.py',
]
model = dict(
    network=dict(out_channels=2),
    test_cfg=dict(roi_size=(96, 96, 64), stride=20),
)
