# C2FNAS-Panc (Yu et al., CVPR 2020) in a VolumeSegmentor, as CAKES uses it
# on MSD pancreas: one CT channel in, 3 classes out (background, pancreas,
# tumour); Dice + cross-entropy; whole volumes tested by a 96^3 sliding
# window at stride 32. `network.op` picks the replaceable convs' operation
# (conv3d, conv2d, p3d, or a CAKES / search dict); each config sets it. The
# cost-priority lasso (lambda 1e-4, beta 9/13, 3/13, 1/13) adds `loss_alpha`
# only in a cost-priority search.
custom_imports = dict(imports=['cakes_mm'], allow_failed_imports=False)

model = dict(
    type='VolumeSegmentor',
    network=dict(
        type='C2FNAS',
        spatial_dims=3,
        in_channels=1,
        out_channels=3,
        op=dict(type='conv3d'),
    ),
    loss=dict(
        type='monai.losses.DiceCELoss',
        to_onehot_y=True,
        softmax=True,
        lambda_dice=1.0,
        lambda_ce=1.0,
    ),
    test_cfg=dict(
        roi_size=(96, 96, 96), stride=32, sw_batch_size=2, mode='constant'
    ),
    arch_loss=dict(type='CostLasso', loss_weight=1e-4),
    data_preprocessor=dict(type='VolumeSegDataPreprocessor'),
)
