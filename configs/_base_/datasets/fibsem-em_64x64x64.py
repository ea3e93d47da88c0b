# Isotropic EM volumes with neuron instance labels (0 background, each
# neuron its own id) in the MSD layout, for affinity learning as in the
# PmSCn paper (§4.3, FIBSEM): one 500^3 volume in `training`, one in `test`
# (also used for validation). `instance_labels=True` takes any whole number
# as a label. Labels load as float32, exact for ids below 2^24. Training:
# random 64^3 crops (our choice), rot90 in the three planes and flips along
# the three axes (the data is isotropic); intensities scaled to 0..1. No
# reorientation: the EM voxel axes are kept as they are.
_base_ = ['./ibsr-mri_64x64x64.py']

# The dataset and modality that config names and the metafile give
# (docs/config_names.md).
dataset_name = 'fibsem'
modality = 'em'

data_root = 'data/fibsem'
keys = ['image', 'label']

load_pipeline = [
    dict(type='LoadImaged', keys=keys),
    dict(type='EnsureChannelFirstd', keys=keys),
    dict(type='ScaleIntensityd', keys=['image'], minv=0.0, maxv=1.0),
]
train_pipeline = [
    *load_pipeline,
    *_base_.random_crop,
    *_base_.rot90_and_flips,
]
test_pipeline = load_pipeline

# Iteration-based training (the paper's 300k iterations) over one volume:
# the infinite sampler draws a new crop every iteration.
train_dataloader = dict(
    batch_size=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root, instance_labels=True, pipeline=train_pipeline
    ),
)
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        split='test',
        instance_labels=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(type='VariationOfInformation', ignore_labels=(0,))
test_evaluator = val_evaluator
