# Everything a C2FNAS / CAKES MSD-pancreas config shares: the network in a
# VolumeSegmentor, 96^3 crops of the 1 mm volumes, the paper's SGD poly
# schedule and the runtime. Configs set model.network.op.
_base_ = [
    './models/c2fnas.py',
    './datasets/msd-pancreas-ct_96x96x96.py',
    './schedules/sgd_poly_1000e_msd.py',
    './volumetric_runtime.py',
]
