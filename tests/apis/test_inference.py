"""cakes_mm.apis: init_recognizer and inference_recognizer on video files
and frame folders, with any config."""

import os.path as osp

import cv2
import decord
import mmaction.apis
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from model_helpers import randomise_norms
from tool_helpers import REPO, write_video

from cakes_mm.apis import (
    UnsupportedConfigError,
    inference_recognizer,
    init_recognizer,
)
from cakes_mm.checkpoint.fit_check import CheckpointMismatchError
from cakes_mm.datasets import BadInputError
from cakes_mm.models.arch import save_arch

DEMO = osp.join(
    REPO,
    'configs',
    'demo',
    'cakes-12d-manual_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py',
)
STHV1 = osp.join(
    REPO, 'configs', 'cakes', 'cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py'
)
# The flagship's test pipeline at 8x32x32 instead of 8x224x224.
STHV1_SMALL = {
    'test_dataloader.dataset.pipeline.2.scale': (-1, 40),
    'test_dataloader.dataset.pipeline.3.crop_size': 32,
}


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    return write_video(
        str(tmp_path_factory.mktemp('video') / 'clip.mp4'),
        num_frames=16,
        size=(64, 48),
    )


@pytest.fixture(scope='module')
def frames(tmp_path_factory, video):
    """Every frame of ``video``, decoded by decord, as lossless PNGs."""
    folder = tmp_path_factory.mktemp('frames')
    reader = decord.VideoReader(video)
    for index in range(len(reader)):
        rgb = reader[index].asnumpy()
        cv2.imwrite(str(folder / f'img_{index + 1:05}.png'), rgb[..., ::-1])
    return str(folder)


def sensitive(model):
    """Random norms and a head with unit-variance weights, so that the
    scores are far from uniform and follow any change of the input."""
    randomise_norms(model)
    model.cls_head.fc_cls.weight.data.normal_(0, 1)
    return model


@pytest.fixture(scope='module')
def demo_model():
    return sensitive(init_recognizer(DEMO, device='cpu'))


@pytest.mark.parametrize(
    'config,options', [(STHV1, STHV1_SMALL), (DEMO, None)]
)
def test_a_video_and_its_frames_give_the_same_scores(
    video, frames, config, options
):
    """The sthv1 config reads frame folders and the demo config videos;
    each takes the other input with the same sampling and preprocessing."""
    model = sensitive(
        init_recognizer(config, device='cpu', cfg_options=options)
    )
    from_video = inference_recognizer(model, video)
    from_frames = inference_recognizer(model, frames)
    num_classes = model.cfg.model.cls_head.num_classes
    assert from_video.pred_score.shape == (num_classes,)
    torch.testing.assert_close(
        from_frames.pred_score, from_video.pred_score, rtol=0, atol=1e-6
    )
    assert torch.isclose(from_video.pred_score.sum(), torch.tensor(1.0))
    assert from_video.pred_score.max() > 2 / num_classes  # not uniform


def test_mmaction2s_own_inference_runs_on_our_model(demo_model, video):
    ours = inference_recognizer(demo_model, video)
    assert ours.pred_score.max() > 2 / len(ours.pred_score)
    theirs = mmaction.apis.inference_recognizer(demo_model, video)
    torch.testing.assert_close(
        ours.pred_score, theirs.pred_score, rtol=0, atol=1e-6
    )


def test_a_ready_input_dict_runs_the_config_pipeline(demo_model, video):
    from_dict = inference_recognizer(
        demo_model,
        dict(filename=video, label=-1, start_index=0, modality='RGB'),
    )
    torch.testing.assert_close(
        from_dict.pred_score,
        inference_recognizer(demo_model, video).pred_score,
    )


def test_a_given_frame_template(demo_model, frames):
    detected = inference_recognizer(demo_model, frames)
    given = inference_recognizer(
        demo_model, frames, filename_tmpl='img_{:05}.png'
    )
    torch.testing.assert_close(given.pred_score, detected.pred_score)


def test_init_recognizer_defaults_and_cfg_options():
    model = init_recognizer(
        DEMO, cfg_options={'model.cls_head.num_classes': 7}
    )
    assert not model.training
    assert model.cfg.model.cls_head.num_classes == 7
    assert model.cls_head.fc_cls.out_features == 7
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert next(model.parameters()).device.type == expected
    # A Config object is copied, not changed.
    cfg = Config.fromfile(DEMO)
    init_recognizer(
        cfg, device='cpu', cfg_options={'model.cls_head.num_classes': 7}
    )
    assert cfg.model.cls_head.num_classes == 6


def save_weights(config, path, cfg_options=None):
    """A checkpoint (bare state dict) of the config's model with random
    weights and norms; returns the state."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options or {})
    model = randomise_norms(MODELS.build(cfg.model))
    state = model.state_dict()
    torch.save(dict(state_dict=state), path)
    return state


def test_every_weight_of_the_checkpoint_is_loaded(tmp_path):
    saved = save_weights(DEMO, str(tmp_path / 'w.pth'))
    loaded = init_recognizer(
        DEMO, str(tmp_path / 'w.pth'), device='cpu'
    ).state_dict()
    assert loaded.keys() == saved.keys()
    for key, value in saved.items():
        assert torch.equal(loaded[key], value), key


def test_a_searched_arch_fits_through_cfg_options(tmp_path):
    """The demo's case: the manual config, a checkpoint of another split."""
    manual = MODELS.build(Config.fromfile(DEMO).model)
    arch = [dict(conv.choice) for conv in manual.backbone.mid_convs()]
    for choice in arch:  # one channel moves from the 1D to the 2D op
        choice['1xkxk'] += 1
        choice['kx1x1'] -= 1
    options = {
        'model.backbone.op.arch': save_arch(
            arch, str(tmp_path / 'arch_final.json')
        )
    }
    checkpoint = str(tmp_path / 'searched.pth')
    save_weights(DEMO, checkpoint, options)
    with pytest.raises(
        CheckpointMismatchError,
        match=r'searched\.pth does not fit the model of '
        r'.*cakes-12d-manual.*: .*layer1\.0\.conv2.* \(9, '
        r'16, 1, 3, 3\) .* \(8, 16, 1, 3, 3\)',
    ):
        init_recognizer(DEMO, checkpoint, device='cpu')
    model = init_recognizer(
        DEMO, checkpoint, device='cpu', cfg_options=options
    )
    assert model.backbone.layer1[0].conv2.choice == arch[0]


def test_missing_or_unreadable_checkpoint(tmp_path):
    with pytest.raises(
        FileNotFoundError, match='checkpoint not found: .*nothing.pth'
    ):
        init_recognizer(DEMO, str(tmp_path / 'nothing.pth'), device='cpu')
    save_weights(DEMO, str(tmp_path / 'whole.pth'))
    with open(tmp_path / 'whole.pth', 'rb') as whole:
        (tmp_path / 'junk.pth').write_bytes(whole.read(5000))
    with pytest.raises(
        BadInputError, match='cannot read checkpoint .*junk.pth'
    ):
        init_recognizer(DEMO, str(tmp_path / 'junk.pth'), device='cpu')
    with pytest.raises(FileNotFoundError, match='config not found'):
        init_recognizer(str(tmp_path / 'nothing.py'))


def test_unknown_extension_or_missing_input(demo_model, tmp_path):
    notes = tmp_path / 'clip.txt'
    notes.write_text('hello')
    with pytest.raises(
        BadInputError,
        match=r"clip\.txt: unknown video extension '\.txt'; "
        r'give a video file \(\.mp4 .*\) or a folder of '
        r'frames',
    ):
        inference_recognizer(demo_model, str(notes))
    with pytest.raises(FileNotFoundError, match='video not found'):
        inference_recognizer(demo_model, str(tmp_path / 'nothing.mp4'))


def test_a_video_that_cannot_be_decoded(demo_model, video, tmp_path):
    truncated = tmp_path / 'truncated.mp4'
    with open(video, 'rb') as f:
        truncated.write_bytes(f.read(600))
    with pytest.raises(
        BadInputError,
        match=r'cannot decode video '
        r'.*truncated\.mp4: .*; check that it plays, or '
        r're-encode it',
    ):
        inference_recognizer(demo_model, str(truncated))


def test_frames_that_are_not_images(demo_model, tmp_path):
    for index in range(1, 9):
        (tmp_path / f'{index:05}.jpg').write_bytes(b'not a jpeg')
    with pytest.raises(
        BadInputError,
        match='cannot read the frames of '
        f'{tmp_path}: .*; check that every frame is a '
        'readable image',
    ):
        inference_recognizer(demo_model, str(tmp_path))


def test_a_config_without_a_test_pipeline(tmp_path, video):
    config = tmp_path / 'model_only.py'
    config.write_text(
        f"_base_ = ['{REPO}/configs/_base_/models/"
        f"cakes_r50.py']\n"
        "model = dict(backbone=dict(op=dict(_delete_=True, type='conv2d'), "
        'base_channels=8), cls_head=dict(in_channels=256))\n'
    )
    model = init_recognizer(str(config), device='cpu')
    with pytest.raises(
        UnsupportedConfigError, match='model_only.py has no test pipeline'
    ):
        inference_recognizer(model, video)
