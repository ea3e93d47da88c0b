# A 3D DenseNet (Bui et al.; five dense blocks of four convs, each followed
# by a transition layer) in a VolumeSegmentor for T1 MRI brain tissue, as in
# the PmSCn paper (§4.2): 4 classes (background, CSF, GM, WM), Dice +
# cross-entropy (our choice: the paper does not name its loss), tested by a
# 64^3 sliding window at stride 32 (our choice). `network.op` is conv3d for
# the baseline and dict(type='pmscn', m=..., n=...) for P_mSC_n.
custom_imports = dict(imports=['cakes_mm'], allow_failed_imports=False)

model = dict(
    type='VolumeSegmentor',
    network=dict(
        type='DenseNet3D',
        spatial_dims=3,
        in_channels=1,
        out_channels=4,
        op=dict(type='conv3d'),
    ),
    loss=dict(type='monai.losses.DiceCELoss', to_onehot_y=True, softmax=True),
    test_cfg=dict(
        roi_size=(64, 64, 64), stride=32, sw_batch_size=2, mode='constant'
    ),
    data_preprocessor=dict(type='VolumeSegDataPreprocessor'),
)
