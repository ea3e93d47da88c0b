# The search that found the archs of our CAKES Table 1 auto rows
# (configs/volumetric/archs/*_mni-brain-mri.json): C2FNAS at full width searched
# on the one real volume that ships in a wheel, the MNI brain MRI at 2 mm
# (4 classes; anterior part to train, posterior part to validate), 48^3
# crops, batch 4, 500 iterations, frozen after epoch 8 of 10. Write the data
# first:
#   python -c "from cakes_mm.demo.mni_brain import write_mni_dataset; \
#       write_mni_dataset('data/mni_brain')"
# Other data: train_dataloader.dataset.dataset.data_root=... (the training
# set is repeated) and val_dataloader.dataset.data_root=... The other rows
# change the op set or the mode, e.g.
#   --cfg-options model.network.op.op_set=[kx1x1,1xkx1,1x1xk]
#   --cfg-options model.network.op.mode=cost
_base_ = [
    './cakes-123d-perf-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
]
dataset_name = 'mni-brain'
modality = 'mri'
data_root = 'data/mni_brain'
patch = (48, 48, 48)
keys = ['image', 'label']
load_pipeline = [
    dict(type='LoadImaged', keys=keys),
    dict(type='EnsureChannelFirstd', keys=keys),
    dict(type='NormalizeIntensityd', keys=['image'], nonzero=True),
]
train_pipeline = [
    *load_pipeline,
    dict(
        type='RandCropByPosNegLabeld',
        keys=keys,
        label_key='label',
        spatial_size=patch,
        pos=1,
        neg=1,
        num_samples=1,
    ),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=0),
    dict(type='RandFlipd', keys=keys, prob=0.5, spatial_axis=2),
]
model = dict(
    network=dict(out_channels=4),
    test_cfg=dict(roi_size=patch, stride=24, sw_batch_size=4),
)
# One training volume: each epoch draws 200 crops of it.
train_dataloader = dict(
    batch_size=4,
    num_workers=3,
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=200,
        dataset=dict(
            type='MSDDataset',
            data_root=data_root,
            ann_file='dataset.json',
            split='train',
            pipeline=train_pipeline,
        ),
    ),
)
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='MSDDataset',
        data_root=data_root,
        ann_file='dataset.json',
        split='test',
        pipeline=load_pipeline,
        test_mode=True,
    ),
)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=10, val_begin=10, val_interval=10)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True,
    )
]
optim_wrapper = dict(optimizer=dict(lr=0.05))
# One GPU: the learning rate is for a total batch of 4.
auto_scale_lr = dict(enable=False, base_batch_size=4)
# The subnet's cost is counted as in Table 1: one 96^3 window.
custom_hooks = [
    dict(
        type='CAKESSearchHook',
        interval=1,
        freeze_at=8,
        input_shape=(1, 1, 96, 96, 96),
    )
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=10, save_best=None)
)
