# CAKES ResNet-50 in mmaction2's Recognizer3D with an I3DHead (dropout 0.3,
# as in the paper). The backbone's `op` (its CAKES arch) is set by each
# config.
custom_imports = dict(imports=['cakes_mm'], allow_failed_imports=False)

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='CAKESResNet',
        depth=50,
        op=dict(type='cakes', arch='CAKES123D_P'),
        pretrained=None,
        pretrained2d=True,
        norm_eval=False,
    ),
    cls_head=dict(
        type='I3DHead',
        num_classes=174,
        in_channels=2048,
        spatial_type='avg',
        dropout_ratio=0.3,
        init_std=0.01,
        average_clips='prob',
    ),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW',
    ),
)
