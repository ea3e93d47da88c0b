# Something-Something V1 as JPEG frames (one folder per video, 00001.jpg...),
# TSN sparse sampling of 8 segments fed as one clip. Set `data_root` and the
# annotation files (built by tools/data/sthv1/) with --cfg-options.
# CheckedRawframeDataset is mmaction2's RawframeDataset with errors that name
# the annotation line or frames folder at fault (cakes_mm.datasets).

# The dataset and modality that config names and the metafile give
# (docs/config_names.md).
dataset_name = 'sthv1'
modality = 'rgb'

dataset_type = 'CheckedRawframeDataset'
num_classes = 174
data_root = 'data/sthv1/rawframes'
ann_file_train = 'data/sthv1/sthv1_train_list_rawframes.txt'
ann_file_val = 'data/sthv1/sthv1_val_list_rawframes.txt'
ann_file_test = ann_file_val
filename_tmpl = '{:05}.jpg'
start_index = 1
# Horizontal flip swaps the direction-sensitive classes of sthv1.
sthv1_flip_label_map = {2: 4, 4: 2, 30: 41, 41: 30, 52: 66, 66: 52}

train_pipeline = [
    dict(type='UniformSample', clip_len=8, num_clips=1),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(
        type='MultiScaleCrop',
        input_size=224,
        scales=(1, 0.875, 0.75, 0.66),
        random_crop=False,
        max_wh_scale_gap=1,
        num_fixed_crops=13,
    ),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5, flip_label_map=sthv1_flip_label_map),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='UniformSample', clip_len=8, num_clips=1, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = val_pipeline

train_dataloader = dict(
    batch_size=12,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(img=data_root),
        filename_tmpl=filename_tmpl,
        start_index=start_index,
        num_classes=num_classes,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=12,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(img=data_root),
        filename_tmpl=filename_tmpl,
        start_index=start_index,
        num_classes=num_classes,
        pipeline=val_pipeline,
        test_mode=True,
    ),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(img=data_root),
        filename_tmpl=filename_tmpl,
        start_index=start_index,
        num_classes=num_classes,
        pipeline=test_pipeline,
        test_mode=True,
    ),
)

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
