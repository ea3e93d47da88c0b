# MSD Task07 pancreas resampled to 1 mm (tools/data/msd/prepare_msd.py
# --out), as in CAKES: 282 cases, fold 1 of 5 held out (226 train, 56 test).
# Training: random 96^3 crops (half of them centred on a pancreas or tumour
# voxel: our choice, the paper says only "random"), rot90 in the three
# planes and flips along the three axes. Validation and test: the held-out
# volumes, whole, one per batch. The CT window -100..240 HU is our choice.
# Switch data with --cfg-options train_dataloader.dataset.data_root=... (and
# val_dataloader / test_dataloader likewise).
_base_ = ['./msd_layout.py']

# The dataset and modality that config names and the metafile give
# (docs/config_names.md).
dataset_name = 'msd-pancreas'
modality = 'ct'

data_root = 'data/Task07_Pancreas_1mm'
fold = 1
num_folds = 5
patch = (96, 96, 96)
keys = ['image', 'label']

load_pipeline = [
    dict(type='LoadImaged', keys=keys),
    dict(type='EnsureChannelFirstd', keys=keys),
    dict(type='Orientationd', keys=keys, axcodes='RAS', labels=None),
    dict(
        type='ScaleIntensityRanged',
        keys=['image'],
        a_min=-100.0,
        a_max=240.0,
        b_min=0.0,
        b_max=1.0,
        clip=True,
    ),
]
train_pipeline = [
    *load_pipeline,
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
    *_base_.rot90_and_flips,
]
test_pipeline = load_pipeline

# 2 crops per GPU on 4 GPUs: the paper's batch of 8.
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        data_root=data_root,
        fold=fold,
        num_folds=num_folds,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        fold=fold,
        num_folds=num_folds,
        pipeline=test_pipeline,
    )
)
test_dataloader = val_dataloader
