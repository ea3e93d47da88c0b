# Everything a 3D UNet EM-affinity config shares: the network in an
# AffinitySegmentor, 64^3 crops of the training volume, Adam for 300k
# iterations and the runtime: checkpoints every 10k iterations, the best
# kept by the lowest variation of information. Configs set
# model.network.op.
_base_ = [
    './models/unet3d_affinities.py',
    './datasets/fibsem-em_64x64x64.py',
    './volumetric_runtime.py',
    './schedules/adam_300k_fibsem.py',
]

default_hooks = dict(
    checkpoint=dict(
        by_epoch=False, interval=10000, save_best='vi/total', rule='less'
    ),
    logger=dict(interval=100),
)
log_processor = dict(by_epoch=False)
