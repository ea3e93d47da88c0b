# What the volumetric datasets share: NIfTI image/label pairs in the Medical
# Segmentation Decathlon layout (dataset.json, read by MSDDataset), MONAI
# dict transforms, training crops rotated by 90 degrees in the three planes
# and flipped along the three axes, and whole volumes, one per batch, for
# validation and test. A dataset config inherits this, sets its data_root,
# loading and crop, and puts its pipelines into the dataloaders.
dataset_type = 'MSDDataset'
ann_file = 'dataset.json'
keys = ['image', 'label']

rot90_and_flips = [
    dict(type='RandRotate90d', keys=keys, prob=0.5, spatial_axes=(0, 1)),
    dict(type='RandRotate90d', keys=keys, prob=0.5, spatial_axes=(1, 2)),
    dict(type='RandRotate90d', keys=keys, prob=0.5, spatial_axes=(0, 2)),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=0),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=1),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=2),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, ann_file=ann_file, split='train'),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, ann_file=ann_file, split='val', test_mode=True
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(type='VolumeDiceMetric')
test_evaluator = val_evaluator
