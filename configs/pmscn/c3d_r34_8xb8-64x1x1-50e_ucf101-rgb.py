# The plain 3D ResNet-34 baseline of the PmSCn paper (Fig. 4b row 2): every
# 3x3 conv of the basic blocks is 3x3x3. UCF101 split 1, 64 frames of 64x64,
# Adam from scratch, 20-clip test. The P_mSC_n configs inherit this one and
# set the backbone's `pmscn`, left here at its default, None (3x3x3 convs).
_base_ = [
    '../_base_/models/pmscn_r34.py',
    '../_base_/datasets/ucf101-rgb_videos_64x1x1.py',
    '../_base_/schedules/adam_50e.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
