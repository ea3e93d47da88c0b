# A 3D UNet (Cicek et al.) predicting the D, H and W affinities of every
# voxel, as in Funke et al.'s EM pipeline that the PmSCn paper (§4.3)
# follows: a per-voxel binary cross-entropy against the affinities of the
# instance labels; at test time, the sliding window's affinities thresholded
# at 0.5 and split into connected components. `network.op` is conv3d for the
# baseline and dict(type='pmscn', m=..., n=...) for P_mSC_n; each config
# sets it. The window (64^3 at stride 32) is our choice.
custom_imports = dict(imports=['cakes_mm'], allow_failed_imports=False)

model = dict(
    type='AffinitySegmentor',
    network=dict(
        type='UNet3D',
        spatial_dims=3,
        in_channels=1,
        out_channels=3,
        op=dict(type='conv3d'),
    ),
    threshold=0.5,
    test_cfg=dict(
        roi_size=(64, 64, 64), stride=32, sw_batch_size=2, mode='constant'
    ),
    data_preprocessor=dict(type='VolumeSegDataPreprocessor'),
)
