# Everything a 3D DenseNet IBSR config shares: the network in a
# VolumeSegmentor, 64^3 crops of the 11 training subjects, Adam with poly
# decay and the runtime. Configs set model.network.op.
_base_ = [
    './models/densenet3d.py',
    './datasets/ibsr-mri_64x64x64.py',
    './schedules/adam_poly_2000e_ibsr.py',
    './volumetric_runtime.py',
]
