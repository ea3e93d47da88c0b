# The built-in synthetic motion dataset (cakes_mm/demo/synthetic.py): 64x64
# mp4 clips of 16 frames whose classes differ only in temporal direction,
# written by tools/demo/run_demo.py under `data_root`. CheckedVideoDataset
# names a bad video or annotation line. TSN sparse sampling of 8 segments,
# resized to 32x32. Testing averages the softmax of 2 clips.

# The dataset and modality that config names and the metafile give
# (docs/config_names.md).
dataset_name = 'synthetic-motion'
modality = 'rgb'

dataset_type = 'CheckedVideoDataset'
data_root = 'work_dirs/demo/data'
ann_file_train = f'{data_root}/train.txt'
ann_file_val = f'{data_root}/val.txt'
ann_file_test = f'{data_root}/test.txt'
# The six classes of cakes_mm.demo.synthetic.DEMO_CLASS_NAMES: moving left,
# right, up, down, growing, shrinking. A horizontal flip swaps left and right.
num_classes = 6
synthetic_flip_label_map = {0: 1, 1: 0}

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=8, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='Flip', flip_ratio=0.5, flip_label_map=synthetic_flip_label_map),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=8, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=8, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]

# Shared by the three loaders below.
synthetic_dataset = dict(
    type=dataset_type,
    data_prefix=dict(video=data_root),
    num_classes=num_classes,
)
synthetic_loader = dict(batch_size=16, num_workers=1, persistent_workers=True)
train_dataloader = dict(
    **synthetic_loader,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        **synthetic_dataset, ann_file=ann_file_train, pipeline=train_pipeline
    ),
)
val_dataloader = dict(
    **synthetic_loader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **synthetic_dataset,
        ann_file=ann_file_val,
        pipeline=val_pipeline,
        test_mode=True,
    ),
)
test_dataloader = dict(
    **synthetic_loader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **synthetic_dataset,
        ann_file=ann_file_test,
        pipeline=test_pipeline,
        test_mode=True,
    ),
)

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
