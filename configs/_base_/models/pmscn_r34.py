# PmSCn ResNet-34 in mmaction2's Recognizer3D with an I3DHead, for 64x64
# clips (the paper's UCF101 setting). The op here is conv3d: the plain 3D
# ResNet-34. The P_mSC_n configs set op=dict(type='pmscn', m=..., n=...).
# The stem and strides are mmaction2's R(2+1)D-34 recipe ((3,7,7) stem,
# spatial strides (1,2,2,2), temporal strides (1,2,2,2)) without the stem's
# max-pool, so that 64 frames of 64x64 end as 8x4x4 rather than 8x2x2.
custom_imports = dict(imports=['cakes_mm'], allow_failed_imports=False)

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='PmSCnResNet',
        depth=34,
        op=dict(type='conv3d'),
        conv1_kernel=(3, 7, 7),
        conv1_stride=(1, 2, 2),
        with_pool1=False,
        spatial_strides=(1, 2, 2, 2),
        temporal_strides=(1, 2, 2, 2),
        pretrained=None,
        norm_eval=False,
    ),
    cls_head=dict(
        type='I3DHead',
        num_classes=101,
        in_channels=512,
        spatial_type='avg',
        dropout_ratio=0.5,
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
