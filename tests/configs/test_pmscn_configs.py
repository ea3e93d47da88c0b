import os.path as osp
import pickle
import subprocess
import sys

import cv2
import decord
import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from tool_helpers import REPO

from cakes_mm.analysis.complexity import model_complexity

CONFIGS = osp.join(REPO, 'configs', 'pmscn')
VARIANTS = {
    'c3d': dict(type='conv3d'),
    'p1sc1': dict(type='pmscn', m=1, n=1),
    'p2sc1': dict(type='pmscn', m=2, n=1),
    'p2sc2': dict(type='pmscn', m=2, n=2),
    'p2sc3': dict(type='pmscn', m=2, n=3),
}


def config(name):
    return Config.fromfile(
        osp.join(CONFIGS, f'{name}_r34_8xb8-64x1x1-50e_ucf101-rgb.py')
    )


def meta_complexity(cfg):
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    return model_complexity(model, (1, 3, 64, 64, 64))


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_config_recipe(name):
    cfg = config(name)
    assert cfg.custom_imports.imports == ['cakes_mm']
    assert cfg.model.backbone.type == 'PmSCnResNet'
    assert cfg.model.backbone.op == VARIANTS[name]
    assert cfg.model.cls_head.num_classes == 101
    assert cfg.model.cls_head.average_clips == 'prob'
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.model.backbone.pretrained is None
    train = {step['type']: step for step in cfg.train_pipeline}
    test = {step['type']: step for step in cfg.test_pipeline}
    assert (
        train['SampleFrames']['clip_len'],
        train['SampleFrames']['frame_interval'],
        train['RandomCrop']['size'],
    ) == (64, 1, 64)
    assert (
        test['SampleFrames']['num_clips'],
        test['CenterCrop']['crop_size'],
    ) == (20, 64)
    assert cfg.test_dataloader.dataset.type == 'CheckedVideoDataset'
    assert 'split_1' in cfg.test_dataloader.dataset.ann_file


def test_params_p1sc1_matches_3d_and_p2_variants_are_smaller():
    params = {name: meta_complexity(config(name)).params for name in VARIANTS}
    assert abs(params['p1sc1'] / params['c3d'] - 1) < 0.02
    for name in ('p2sc1', 'p2sc2', 'p2sc3'):
        assert params[name] < min(params['c3d'], params['p1sc1'])


@pytest.fixture(scope='module')
def tiny_ucf101(tmp_path_factory):
    """Two 72-frame noise videos of 96x64 with an mmaction2 list."""
    folder = tmp_path_factory.mktemp('ucf101')
    rng = np.random.default_rng(0)
    for name in ('a.mp4', 'b.mp4'):
        writer = cv2.VideoWriter(
            str(folder / name), cv2.VideoWriter_fourcc(*'mp4v'), 25, (96, 64)
        )
        for _ in range(72):
            writer.write(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
        writer.release()
        assert len(decord.VideoReader(str(folder / name))) == 72
    (folder / 'list.txt').write_text('a.mp4 3\nb.mp4 7\n')
    return folder


def tiny_options(folder):
    """Shrink the P2SC2 config's 20-clip test to the tiny set.

    To keep the test fast on a CPU the backbone is a ResNet-18 of base
    width 4 and the clips are 16 frames long (still 20 clips of 64x64).
    """
    return {
        'model.backbone.depth': 18,
        'model.backbone.base_channels': 4,
        'model.cls_head.in_channels': 32,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'test_dataloader.dataset.ann_file': str(folder / 'list.txt'),
        'test_dataloader.dataset.data_prefix.video': str(folder),
        'test_dataloader.dataset.pipeline.1.clip_len': 16,
    }


@pytest.mark.slow
def test_20_clip_score_is_the_mean_of_clip_probabilities(
    tiny_ucf101, tmp_path
):
    options = tiny_options(tiny_ucf101)
    cfg = config('p2sc2')
    cfg.merge_from_dict(options)
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'tiny.pth')
    command = [
        sys.executable,
        osp.join(REPO, 'tools', 'test.py'),
        osp.join(CONFIGS, 'p2sc2_r34_8xb8-64x1x1-50e_ucf101-rgb.py'),
        str(tmp_path / 'tiny.pth'),
        '--work-dir',
        str(tmp_path / 'work'),
        '--dump',
        str(tmp_path / 'scores.pkl'),
        '--num-clips',
        '20',
        '--cfg-options',
        *[f'{k}={v}' for k, v in options.items()],
    ]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert 'acc/top1' in done.stdout + done.stderr
    with open(tmp_path / 'scores.pkl', 'rb') as file:
        results = pickle.load(file)
    assert [int(r['gt_label']) for r in results] == [3, 7]

    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    for index, result in enumerate(results):
        with torch.no_grad():
            batch = model.data_preprocessor(
                pseudo_collate([dataset[index]]), training=False
            )
            clips = batch['inputs'][0]
            assert clips.shape == (20, 3, 16, 64, 64)
            probs = model.cls_head(model.backbone(clips)).softmax(dim=1)
        assert probs.shape == (20, 101)
        # The clips differ, so the mean is not any single clip's score.
        assert not torch.allclose(
            probs[0], probs.mean(dim=0), rtol=0, atol=1e-7
        )
        torch.testing.assert_close(result['pred_score'], probs.mean(dim=0))
