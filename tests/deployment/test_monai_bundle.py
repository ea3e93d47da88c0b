"""cakes_mm.deployment.monai_bundle and tools/deployment/export_monai_bundle.py:
a trained CAKES UNet3D as a MONAI bundle that ``python -m monai.bundle run``
runs, labelling a NIfTI volume voxel for voxel as our own test does."""

import glob
import json
import os
import os.path as osp
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from model_helpers import randomise_norms
from tool_helpers import REPO, run_tool
from volumetric_helpers import grid_affine, write_json, write_nifti

from cakes_mm.deployment.monai_bundle import (
    INFERENCE_JSON,
    MODEL_PT,
    export_monai_bundle,
    inferer_component,
)

DEMO = osp.join(REPO, 'configs', 'demo')
#: The MRI demo's CAKES 1,2,3D UNet, narrow, on 16^3 windows at stride 8.
TINY = """_base_ = ['{base}']
model = dict(
    network=dict(features=(8, 16)),
    test_cfg=dict(roi_size=(16, 16, 16), stride=8, sw_batch_size=2))
"""
#: A volume that no window tiles evenly, on a RAS grid.
SHAPE = (20, 18, 23)


def tiny_config(folder):
    """The tiny config's path."""
    base = osp.join(
        DEMO, 'cakes-123d-manual_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py'
    )
    path = osp.join(folder, 'tiny_unet.py')
    with open(path, 'w') as file:
        file.write(TINY.format(base=base))
    return path


def write_checkpoint(config, path):
    """A seeded segmentor with random norms, saved as mmengine does;
    returns the segmentor in eval mode. Its head is centred: a random
    network's mean logits differ far more than they vary over a volume."""
    torch.manual_seed(1)
    model = MODELS.build(Config.fromfile(config).model)
    randomise_norms(model).eval()
    with torch.no_grad():  # centre the logits: each class wins somewhere
        logits = model.network(torch.randn(1, 1, 16, 16, 16))
        model.network.head.bias -= logits.mean((0, 2, 3, 4))
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), path)
    return model


def write_volume(root):
    """A random image (and an empty label map, for our dataset) under
    ``root``; returns the dataset.json."""
    image = np.random.default_rng(0).normal(1.0, 0.5, SHAPE)
    write_nifti(osp.join(root, 'images', 'vol.nii.gz'), image.astype('f4'))
    write_nifti(
        osp.join(root, 'labels', 'vol.nii.gz'), np.zeros(SHAPE, np.uint8)
    )
    entry = dict(image='images/vol.nii.gz', label='labels/vol.nii.gz')
    return write_json(
        osp.join(root, 'dataset.json'),
        [entry],
        validation=[entry],
        test=[entry],
        labels={str(k): f'class{k}' for k in range(4)},
    )


def our_prediction(config, model, root):
    """``pred_seg`` of the volume as tools/test.py gets it: the config's
    test dataset, then the segmentor's test step."""
    cfg = Config.fromfile(config)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=root))
    item = dataset[0]
    sample = model.test_step(dict(inputs=[item['inputs']]))[0]
    return sample.pred_seg[0].numpy()


def bundle_run_command(options):
    """``python -m monai.bundle run --KEY VALUE ...``, MONAI's command line
    (python-fire, which it needs, comes with the volumetric extra)."""
    flags = [
        part for key, value in options.items() for part in (f'--{key}', value)
    ]
    return [sys.executable, '-m', 'monai.bundle', 'run', *flags]


@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    """The tiny segmentor exported as a bundle by the tool."""
    folder = str(tmp_path_factory.mktemp('bundle'))
    config = tiny_config(folder)
    checkpoint = osp.join(folder, 'epoch_1.pth')
    model = write_checkpoint(config, checkpoint)
    out = osp.join(folder, 'bundle')
    export_monai_bundle(config, checkpoint, out)
    return dict(folder=folder, config=config, model=model, out=out)


def test_bundle_holds_the_network_and_its_window(bundle):
    out = bundle['out']
    state = torch.load(osp.join(out, MODEL_PT), weights_only=True)
    assert state.keys() == bundle['model'].network.state_dict().keys()
    with open(osp.join(out, INFERENCE_JSON)) as file:
        inference = json.load(file)
    op = inference['network_def']['network']['op']
    assert op['type'] == 'cakes' and len(op['op_set']) == 7
    # A stride of half the window: MONAI's int(16 * (1 - overlap)) is 8.
    overlap = inference['inferer']['overlap']
    assert [int(16 * (1 - o)) for o in overlap] == [8, 8, 8]
    with open(osp.join(out, 'configs', 'metadata.json')) as file:
        assert json.load(file)['network_data_format']['inputs']['image']


@pytest.mark.slow  # runs MONAI's bundle CLI in a subprocess
def test_bundle_run_labels_like_our_test(bundle):
    root = osp.join(bundle['folder'], 'data')
    write_volume(root)
    labels = osp.join(bundle['folder'], 'labels_out')
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join(
            filter(None, [REPO, os.environ.get('PYTHONPATH')])
        ),
    )
    out = bundle['out']
    options = dict(
        config_file=osp.join(out, INFERENCE_JSON),
        bundle_root=out,
        dataset_dir=osp.join(root, 'images'),
        output_dir=labels,
    )
    result = subprocess.run(
        bundle_run_command(options),
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (written,) = glob.glob(osp.join(labels, '*.nii.gz'))
    image = nib.load(written)
    np.testing.assert_allclose(image.affine, grid_affine())
    theirs = np.asarray(image.dataobj)
    ours = our_prediction(bundle['config'], bundle['model'], root)
    assert theirs.shape == SHAPE
    assert len(np.unique(ours)) > 1  # not a constant map by chance
    np.testing.assert_array_equal(theirs, ours)


def test_the_tool_writes_a_bundle_and_names_bad_files(bundle, tmp_path):
    tool = 'deployment/export_monai_bundle.py'
    out = str(tmp_path / 'out')
    checkpoint = osp.join(bundle['folder'], 'epoch_1.pth')
    written = run_tool([tool, bundle['config'], checkpoint, out], REPO)
    assert written.returncode == 0, written.stderr[-3000:]
    last = written.stdout.strip().splitlines()[-1]
    assert last.startswith('wrote a MONAI bundle of ')
    assert last.endswith(
        f'--bundle_root {out} --dataset_dir IMAGES --output_dir LABELS'
    )
    with (
        open(osp.join(out, INFERENCE_JSON)) as mine,
        open(osp.join(bundle['out'], INFERENCE_JSON)) as package,
    ):
        assert json.load(mine) == json.load(package)
    missing = str(tmp_path / 'missing.pth')
    refused = run_tool([tool, bundle['config'], missing, out], REPO)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith('error: ')
    assert f'not found: {missing}' in refused.stderr
    recognizer = osp.join(
        DEMO, 'c2d_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py'
    )
    refused = run_tool([tool, recognizer, missing, out], REPO)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith(f'error: {recognizer}: model ')
    assert 'is not a VolumeSegmentor' in refused.stderr
    assert sorted(os.listdir(tmp_path)) == ['out']


def test_without_window_the_bundle_runs_one_pass():
    assert inferer_component(None) == dict(_target_='SimpleInferer')
