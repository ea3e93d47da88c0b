"""tools/train.py and tools/test.py run as users run them: as subprocesses
from a directory outside the repository, on a generated tiny dataset."""

import json
import os
import os.path as osp
import pickle

import pytest
import torch
from tool_helpers import (
    python_path,
    run_tool,
    write_lines,
    write_rawframe_dataset,
    write_tiny_config,
    write_video_dataset,
)

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

# Test-only modules: a head that logs how many views of each video reach it,
# and a backbone that logs its batch sizes and offers switch_to_deploy().
PROBES = """
import json
import os

from cakes_mm.models import CAKESResNet
from mmaction.models.heads import I3DHead
from mmaction.registry import MODELS


def log(**entry):
    if os.environ.get('PROBE_LOG'):
        with open(os.environ['PROBE_LOG'], 'a') as file:
            file.write(json.dumps(entry) + '\\n')


@MODELS.register_module()
class ViewCountingHead(I3DHead):
    def predict(self, feats, data_samples, **kwargs):
        log(views=feats.shape[0] // len(data_samples))
        return super().predict(feats, data_samples, **kwargs)


@MODELS.register_module()
class DeployProbeResNet(CAKESResNet):
    def forward(self, x):
        log(backbone_batch=x.shape[0])
        return super().forward(x)

    def switch_to_deploy(self):
        log(deployed_conv1_sum=float(self.conv1.weight.sum()))
"""


def probe_log(path):
    """The entries the probes logged."""
    with open(path) as file:
        return [json.loads(line) for line in file]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A tiny dataset, a config with the probes, one epoch of training."""
    root = tmp_path_factory.mktemp('tools')
    (root / 'probes.py').write_text(PROBES)
    ann = write_rawframe_dataset(str(root), [0, 1, 2, 0])
    config = write_tiny_config(
        str(root / 'tiny.py'),
        ann,
        str(root / 'frames'),
        imports=('cakes_mm', 'probes'),
        backbone='DeployProbeResNet',
        head='ViewCountingHead',
    )
    env = dict(PYTHONPATH=python_path(root))
    result = run_tool(
        ['train.py', config, '--work-dir', 'work'], str(root), env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root, config, env


def test_train_writes_a_checkpoint(trained):
    root, _, _ = trained
    assert sorted(
        p for p in os.listdir(root / 'work') if p.endswith('.pth')
    ) == ['epoch_1.pth']
    assert (
        (root / 'work' / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    )


def test_test_with_deploy_and_dump(trained):
    root, config, env = trained
    env = dict(env, PROBE_LOG=str(root / 'deploy.log'))
    result = run_tool(
        [
            'test.py',
            config,
            'work/epoch_1.pth',
            '--work-dir',
            'work',
            '--dump',
            'single.pkl',
            '--deploy',
        ],
        str(root),
        env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'acc/top1' in result.stdout + result.stderr
    with open(root / 'single.pkl', 'rb') as file:
        assert len(pickle.load(file)) == 4
    entries = probe_log(root / 'deploy.log')
    state = torch.load(root / 'work' / 'epoch_1.pth')['state_dict']
    assert entries[0] == {
        'deployed_conv1_sum': pytest.approx(
            float(state['backbone.conv1.weight'].sum()), rel=1e-5
        )
    }
    assert {e['views'] for e in entries if 'views' in e} == {1}


def test_resume_continues_from_the_checkpoint(trained):
    root, config, env = trained
    result = run_tool(
        [
            'train.py',
            config,
            '--work-dir',
            'work',
            '--resume',
            '--cfg-options',
            'train_cfg.max_epochs=2',
        ],
        str(root),
        env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'resumed epoch: 1, iter: 2' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train) [2][2/2]' in log
    assert osp.isfile(root / 'work' / 'epoch_2.pth')


def multi_view_test(root, config, env, name, *options):
    """Test with 2 clips x 3 crops; return (scores, probe log entries)."""
    env = dict(env, PROBE_LOG=str(root / f'{name}.log'))
    result = run_tool(
        [
            'test.py',
            config,
            'work/epoch_1.pth',
            '--work-dir',
            'work',
            '--num-clips',
            '2',
            '--num-crops',
            '3',
            '--dump',
            f'{name}.pkl',
            *options,
        ],
        str(root),
        env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert '2 clips x 3 crops per video' in result.stdout + result.stderr
    with open(root / f'{name}.pkl', 'rb') as file:
        scores = torch.stack([r['pred_score'] for r in pickle.load(file)])
    return scores, probe_log(root / f'{name}.log')


def test_multi_view_test_averages_six_views_per_video(trained):
    root, config, env = trained
    scores, entries = multi_view_test(root, config, env, 'views')
    assert {e['views'] for e in entries if 'views' in e} == {6}
    # batch size 2: both videos' 12 views go through the backbone together
    assert max(e.get('backbone_batch', 0) for e in entries) == 12
    assert torch.allclose(scores.sum(1), torch.ones(4), atol=1e-5)
    chunked, entries = multi_view_test(
        root,
        config,
        env,
        'chunked',
        '--cfg-options',
        'model.test_cfg.max_testing_views=4',
    )
    assert {e['views'] for e in entries if 'views' in e} == {6}
    assert max(e.get('backbone_batch', 0) for e in entries) == 4
    assert torch.allclose(scores, chunked, atol=1e-5)


class WritesMarker:
    """Unpickles by running ``exec``, which would write ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").write("pwned")',))


def test_unsafe_checkpoint_is_refused_with_one_line(trained):
    root, config, env = trained
    marker = root / 'pwned.txt'
    torch.save(
        {'state_dict': {}, 'meta': WritesMarker(marker)}, root / 'evil.pth'
    )
    result = run_tool(
        ['test.py', config, 'evil.pth', '--work-dir', 'work'], str(root), env
    )
    assert result.returncode == 1
    assert not marker.exists()
    assert 'Traceback' not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            'error: refused to load evil.pth: it references exec, which is not '
            'allowed.'
        )
    )


def test_bad_video_stops_training_with_one_line(tmp_path):
    ann = write_video_dataset(str(tmp_path), [0, 1, 2, 0])
    with open(tmp_path / 'videos' / 'vid2.mp4', 'wb') as file:
        file.write(b'\x00' * 4096)
    config = write_tiny_config(
        str(tmp_path / 'video.py'),
        ann,
        str(tmp_path / 'videos'),
        videos=True,
        workers=1,
    )
    result = run_tool(
        ['train.py', config, '--work-dir', 'work'], str(tmp_path)
    )
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f'error: {tmp_path}/videos/vid2.mp4: DecordInit cannot read it ('
        )
    )


def test_label_beyond_the_head_stops_training_with_one_line(tmp_path):
    write_rawframe_dataset(str(tmp_path), [0, 1])
    ann = write_lines(str(tmp_path / 'ann.txt'), ['vid0 6 0', 'vid1 6 3'])
    config = write_tiny_config(
        str(tmp_path / 'labels.py'),
        ann,
        str(tmp_path / 'frames'),
        num_classes=3,
    )
    result = run_tool(
        ['train.py', config, '--work-dir', 'work'], str(tmp_path)
    )
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f'error: {ann}, line 2: label 3 is outside the 3 classes (0..2)'
    )
