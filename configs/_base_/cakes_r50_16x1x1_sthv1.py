# As cakes_r50_8x1x1_sthv1.py, with 16 TSN segments per clip.
_base_ = [
    './models/cakes_r50.py',
    './datasets/sthv1_rawframes_16x1x1.py',
    './schedules/sgd_70e_sthv1.py',
    './default_runtime.py',
]
