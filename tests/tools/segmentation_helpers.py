"""Helpers for the segmentation tests: tiny networks, tiny datasets (CT-
like semantic labels, EM-like instance labels) and configs that inherit the
real volumetric configs with a tiny network and data put in.

The networks are the papers' own at small widths on 32^3 crops: C2FNAS at
base width 4 for CT, a two-level UNet3D for EM affinities.
"""

import os.path as osp
from typing import Sequence

import numpy as np
from monai.data import create_test_image_3d
from scipy import ndimage
from tool_helpers import REPO
from volumetric_helpers import (
    grid_affine,
    train_pipeline,
    whole_volume_pipeline,
    write_json,
    write_nifti,
)

#: C2FNAS at base width 4, 3 classes.
TINY_C2FNAS = dict(
    type='C2FNAS',
    spatial_dims=3,
    in_channels=1,
    out_channels=3,
    base_channels=4,
    op='3d',
)
#: A two-level 3D UNet of P2SC2 units, 3 affinities.
TINY_UNET = dict(
    type='UNet3D',
    spatial_dims=3,
    in_channels=1,
    out_channels=3,
    features=(4, 8),
    op=dict(type='pmscn', m=2, n=2),
)
#: MONAI's BasicUNet, small, to show a wrapped MONAI network in a config.
BASIC_UNET = dict(
    type='monai.networks.nets.BasicUNet',
    spatial_dims=3,
    in_channels=1,
    out_channels=3,
    features=(4, 4, 4, 4, 8, 4),
)
#: MONAI's UNet at its smallest: two levels, instance norms after its
#: two 3x3x3 convs (widths 4 and 8).
MONAI_UNET = dict(
    type='monai.networks.nets.UNet',
    spatial_dims=3,
    in_channels=1,
    out_channels=3,
    channels=(4, 8),
    strides=(2,),
)
#: MONAI's SegResNet at two levels; its group norms (8 groups) need at
#: least 8 filters. Pre-activation: no conv has a norm of its own.
MONAI_SEGRESNET = dict(
    type='monai.networks.nets.SegResNet',
    spatial_dims=3,
    in_channels=1,
    out_channels=3,
    init_filters=8,
    blocks_down=(1, 1),
    blocks_up=(1,),
)
#: All seven sub-kernels, 3D first (the remainder of a uniform split).
ALL_OPS = ['kxkxk', '1xkxk', 'kx1xk', 'kxkx1', 'kx1x1', '1xkx1', '1x1xk']
#: C2FNAS's op convs: one per single and down cell, two per merge cell.
NUM_C2FNAS_OP_CONVS = 17
VOLUMETRIC = osp.join(REPO, 'configs', 'volumetric')

#: Overrides that make a real config tiny: the network, 32^3 windows at
#: stride 16, 32^3 crops, no workers, 2 seeded epochs with a checkpoint
#: after each and validation after the last.
TINY = """
model = dict(
    network=@NETWORK@,
    test_cfg=dict(roi_size=(32, 32, 32), stride=16, sw_batch_size=4))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=@TRAIN@))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(pipeline=@TEST@))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_begin=1, val_interval=2)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=True,
                        begin=0, end=2, convert_to_iter_based=True)]
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
randomness = dict(seed=3, deterministic=True)
"""


def tiny_config(path: str, base: str, network: dict, extra: str = '') -> str:
    """Write a config inheriting ``configs/volumetric/<base>`` made tiny.

    Args:
        path (str): Where to write it.
        base (str): The real config's file name.
        network (dict): The network (replacing the base's).
        extra (str): More config lines. Defaults to ''.

    Returns:
        str: ``path``.
    """
    text = TINY.replace('@NETWORK@', repr(dict(network, _delete_=True)))
    text = text.replace('@TRAIN@', repr(train_pipeline(32)))
    text = text.replace('@TEST@', repr(whole_volume_pipeline()))
    with open(path, 'w') as file:
        file.write(f"_base_ = ['{osp.join(VOLUMETRIC, base)}']\n{text}{extra}")
    return path


def searched_c2fnas(mode: str) -> dict:
    """The tiny C2FNAS as a CAKES search supernet over all seven ops."""
    return dict(
        TINY_C2FNAS, op=dict(type='cakes_search', op_set=ALL_OPS, mode=mode)
    )


def instance_volume(seed: int, size: int = 32) -> dict:
    """An image of bright blobs and their instance ids (uint16), one id
    per connected blob, 0 the background."""
    image, mask = create_test_image_3d(
        size,
        size,
        size,
        num_objs=8,
        rad_max=size // 5,
        rad_min=3,
        num_seg_classes=1,
        noise_max=0.05,
        random_state=np.random.RandomState(seed),
    )
    ids, _ = ndimage.label(mask > 0)
    return dict(image=image.astype(np.float32), label=ids.astype(np.uint16))


def write_em_dataset(
    root: str, seeds: Sequence[int] = (0, 1), size: int = 32
) -> str:
    """An MSD-layout EM-like set: ``training`` holds the first volume,
    ``test`` the second; labels are instance ids. Returns the json."""
    entries = []
    for seed in seeds:
        case = instance_volume(seed, size)
        name = f'em_{seed}.nii.gz'
        for key in ('image', 'label'):
            write_nifti(
                osp.join(root, f'{key}s', name), case[key], grid_affine()
            )
        entries.append(dict(image=f'images/{name}', label=f'labels/{name}'))
    return write_json(
        osp.join(root, 'dataset.json'),
        entries[:1],
        labels={'0': 'background', '1': 'neuron'},
        test=entries[1:],
    )
