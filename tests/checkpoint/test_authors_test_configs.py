"""configs/cakes-123d-perf_r50_{8,16}x1x1_sthv1_authors-test.py: the test
protocol of the authors' released weights, for converted checkpoints."""

import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from tool_helpers import REPO

from checkpoint.authors_reference import IMAGENET_MEAN, IMAGENET_STD

CONFIGS = {
    8: f'{REPO}/configs/cakes/cakes-123d-perf-authors-test_r50_8xb12-u8-70e_sthv1-rgb.py',
    16: f'{REPO}/configs/cakes/cakes-123d-perf-authors-test_r50_8xb12-u16-70e_sthv1-rgb.py',
}
#: Frame i is filled with the grey level STEP * i, so it can be recognised.
STEP = 3


def authors_frames(total_frames: int, segments: int) -> list:
    """The authors' test frames (their dataset.py), 1-based."""
    tick = total_frames / segments
    return [int(tick / 2 + tick * i) + 1 for i in range(segments)]


def write_numbered_frames(
    folder: str, total_frames: int, filename_tmpl: str
) -> None:
    """40x30 JPEGs, frame i of one grey level STEP * i."""
    for index in range(1, total_frames + 1):
        frame = np.full((30, 40, 3), STEP * index, np.uint8)
        cv2.imwrite(osp.join(folder, filename_tmpl.format(index)), frame)


@pytest.mark.parametrize('segments', [8, 16])
def test_one_clip_of_the_authors_frames(tmp_path, segments):
    cfg = Config.fromfile(CONFIGS[segments])
    dataset = cfg.test_dataloader.dataset
    pipeline = Compose(dataset.pipeline)
    for total_frames in (segments + 1, 37, 64):
        folder = tmp_path / f'video{total_frames}'
        folder.mkdir()
        write_numbered_frames(str(folder), total_frames, dataset.filename_tmpl)
        packed = pipeline(
            dict(
                frame_dir=str(folder),
                total_frames=total_frames,
                label=0,
                start_index=dataset.start_index,
                filename_tmpl=dataset.filename_tmpl,
                modality='RGB',
            )
        )
        clip = packed['inputs']
        assert tuple(clip.shape) == (1, 3, segments, 224, 224)
        levels = clip[0, :, :, 112, 112].float().mean(dim=0)
        frames = (levels / STEP).round().int().tolist()
        assert frames == authors_frames(total_frames, segments)


@pytest.mark.parametrize('segments', [8, 16])
def test_model_and_normalisation_are_the_released_ones(segments):
    cfg = Config.fromfile(CONFIGS[segments])
    assert cfg.model.backbone.op == dict(type='cakes', arch='CAKES123D_P')
    assert cfg.model.cls_head.num_classes == 174
    preprocessor = cfg.model.data_preprocessor
    # ImageNet mean/std of 0-1 pixels, here for 0-255 pixels
    np.testing.assert_allclose(
        preprocessor.mean, np.array(IMAGENET_MEAN) * 255, atol=1e-3
    )
    np.testing.assert_allclose(
        preprocessor.std, np.array(IMAGENET_STD) * 255, atol=1e-3
    )
    steps = {step.type: step for step in cfg.test_dataloader.dataset.pipeline}
    assert steps['Resize'].scale == (-1, 256)
    assert steps['CenterCrop'].crop_size == 224
