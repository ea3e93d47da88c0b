# As r50_8xb12-u8-70e_sthv1-rgb.py, with 16 TSN segments per clip.
_base_ = [
    './models/cakes_r50.py',
    './datasets/sthv1-rgb_rawframes_u16.py',
    './schedules/sgd_70e_sthv1.py',
    './default_runtime.py',
]
