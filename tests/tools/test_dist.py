"""tools/dist_train.sh and tools/dist_test.sh with 2 CPU processes (gloo)."""

import os
import socket
import subprocess

import pytest
from tool_helpers import TOOLS, write_rawframe_dataset, write_tiny_config

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def run_script(script, args, cwd):
    """``bash tools/<script> args`` with a free rendezvous port."""
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    return subprocess.run(
        ['bash', os.path.join(TOOLS, script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_two_cpu_processes_train_then_test(tmp_path):
    ann = write_rawframe_dataset(str(tmp_path), [0, 1, 2, 0])
    config = write_tiny_config(
        str(tmp_path / 'tiny.py'), ann, str(tmp_path / 'frames')
    )
    result = run_script(
        'dist_train.sh', [config, '2', '--work-dir', 'work'], str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log
    assert "backend='gloo'" in log
    # 4 videos over 2 processes with batch 2: one iteration per epoch
    assert 'Epoch(train) [1][1/1]' in log
    assert sorted(
        p for p in os.listdir(tmp_path / 'work') if p.endswith('.pth')
    ) == ['epoch_1.pth']
    result = run_script(
        'dist_test.sh',
        [config, 'work/epoch_1.pth', '2', '--work-dir', 'work'],
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'acc/top1' in result.stdout + result.stderr


def test_scripts_explain_their_usage():
    for script, arguments in (
        ('dist_train.sh', 'CONFIG NPROC'),
        ('dist_test.sh', 'CONFIG CHECKPOINT NPROC'),
    ):
        result = subprocess.run(
            ['bash', os.path.join(TOOLS, script)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2
        assert arguments in result.stderr
