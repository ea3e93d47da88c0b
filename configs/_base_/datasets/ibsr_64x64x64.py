# IBSR T1 brain MRI in the MSD layout (labels 0 background, 1 CSF, 2 GM,
# 3 WM), as in the PmSCn paper: 11 subjects in `training`, 2 in
# `validation`, 5 in `test`. Training: random 64^3 crops, rot90 in the
# three planes and flips along the three axes; intensities normalised over
# the nonzero voxels. Crop size and augmentation are our choice (the paper
# defers them to its supplement). The MNI demo subject
# (cakes_mm.demo.mni_brain.write_mni_dataset) has the same layout.
dataset_type = 'MSDDataset'
data_root = 'data/ibsr'
ann_file = 'dataset.json'
patch = (64, 64, 64)
keys = ['image', 'label']

load_pipeline = [
    dict(type='LoadImaged', keys=keys),
    dict(type='EnsureChannelFirstd', keys=keys),
    dict(type='Orientationd', keys=keys, axcodes='RAS', labels=None),
    dict(type='NormalizeIntensityd', keys=['image'], nonzero=True),
]
train_pipeline = [
    *load_pipeline,
    dict(type='SpatialPadd', keys=keys, spatial_size=patch),
    dict(
        type='RandSpatialCropd', keys=keys, roi_size=patch, random_size=False
    ),
    dict(type='RandRotate90d', keys=keys, prob=0.5, spatial_axes=(0, 1)),
    dict(type='RandRotate90d', keys=keys, prob=0.5, spatial_axes=(1, 2)),
    dict(type='RandRotate90d', keys=keys, prob=0.5, spatial_axes=(0, 2)),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=0),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=1),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=2),
]
test_pipeline = load_pipeline

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split='train',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split='val',
        pipeline=test_pipeline,
        test_mode=True,
    ),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split='test',
        pipeline=test_pipeline,
        test_mode=True,
    ),
)

val_evaluator = dict(type='VolumeDiceMetric')
test_evaluator = val_evaluator
