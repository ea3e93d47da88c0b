# NIH Pancreas-CT (82 CTs, tools/data/nih_pancreas/convert_nih.py), as in
# CAKES: 4-fold cross-validation (fold 0 held out here; train each fold
# with --cfg-options for the four dataloaders' `fold`), 2 classes, random
# 96x96x64 crops (64 along the axial axis), rot90 in the axial plane only
# (the crop is not cubic) and flips along the three axes. The CT window
# -100..240 HU and the foreground-centred half of the crops are our choice.
_base_ = ['./msd-pancreas-ct_96x96x96.py']

# The dataset and modality that config names and the metafile give
# (docs/config_names.md).
dataset_name = 'nih-pancreas'
modality = 'ct'

data_root = 'data/nih_pancreas'
fold = 0
num_folds = 4
patch = (96, 96, 64)
keys = ['image', 'label']

train_pipeline = [
    *_base_.load_pipeline,
    dict(type='SpatialPadd', keys=keys, spatial_size=patch),
    dict(
        type='RandCropByPosNegLabeld',
        keys=keys,
        label_key='label',
        spatial_size=patch,
        pos=1,
        neg=1,
        num_samples=1,
    ),
    dict(type='RandRotate90d', keys=keys, prob=0.5, spatial_axes=(0, 1)),
    *_base_.rot90_and_flips[3:],  # the flips
]

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        fold=fold,
        num_folds=num_folds,
        pipeline=train_pipeline,
    )
)
val_dataloader = dict(
    dataset=dict(data_root=data_root, fold=fold, num_folds=num_folds)
)
test_dataloader = val_dataloader
