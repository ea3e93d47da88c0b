# Everything a CAKES ResNet-50 sthv1 config shares: model, 8-frame data,
# the paper's schedule and mmaction2's runtime. Configs set backbone.op.
_base_ = [
    './models/cakes_r50.py',
    './datasets/sthv1-rgb_rawframes_u8.py',
    './schedules/sgd_70e_sthv1.py',
    './default_runtime.py',
]
