# IBSR T1 brain MRI in the MSD layout (labels 0 background, 1 CSF, 2 GM,
# 3 WM), as in the PmSCn paper: 11 subjects in `training`, 2 in
# `validation`, 5 in `test`. Training: random 64^3 crops, rot90 in the
# three planes and flips along the three axes; intensities normalised over
# the nonzero voxels. Crop size and augmentation are our choice (the paper
# defers them to its supplement). The MNI demo subject
# (cakes_mm.demo.mni_brain.write_mni_dataset) has the same layout.
_base_ = ['./msd_layout.py']

# The dataset and modality that config names and the metafile give
# (docs/config_names.md).
dataset_name = 'ibsr'
modality = 'mri'

data_root = 'data/ibsr'
patch = (64, 64, 64)
keys = ['image', 'label']

load_pipeline = [
    dict(type='LoadImaged', keys=keys),
    dict(type='EnsureChannelFirstd', keys=keys),
    dict(type='Orientationd', keys=keys, axcodes='RAS', labels=None),
    dict(type='NormalizeIntensityd', keys=['image'], nonzero=True),
]
random_crop = [
    dict(type='SpatialPadd', keys=keys, spatial_size=patch),
    dict(
        type='RandSpatialCropd', keys=keys, roi_size=patch, random_size=False
    ),
]
train_pipeline = [*load_pipeline, *random_crop, *_base_.rot90_and_flips]
test_pipeline = load_pipeline

train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline)
)
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline)
)
test_dataloader = dict(
    dataset=dict(data_root=data_root, split='test', pipeline=test_pipeline)
)
