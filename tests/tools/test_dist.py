"""tools/dist_train.sh and tools/dist_test.sh with 2 CPU processes (gloo)."""

import os
import socket
import subprocess

import pytest
from tool_helpers import (
    SEARCH_ARCH_FILES,
    TOOLS,
    read_arch_files,
    run_tool,
    write_rawframe_dataset,
    write_tiny_config,
)

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
    # Both streams' tails: how far each rank got is in the log on stdout.
    assert result.returncode == 0, (
        result.stdout[-2000:] + result.stderr[-3000:]
    )
    assert 'acc/top1' in result.stdout + result.stderr


# As the shipped search configs say it: DDP must allow the ops that no
# channel chose after the freeze to get no gradient.
SEARCH = """
model = dict(
    type='CAKESRecognizer3D',
    backbone=dict(type='CAKESResNetSupernet', arch=None, mode='{mode}',
                  op_set=['kxkxk', '1xkxk', 'kx1x1']))
custom_hooks = [dict(type='CAKESSearchHook', interval=1, freeze_at=1)]
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
randomness = dict(seed=3)
"""


@pytest.mark.parametrize('mode', ['performance', 'cost'])
def test_a_search_runs_in_two_cpu_processes(mode, tmp_path):
    ann = write_rawframe_dataset(str(tmp_path), [0, 1, 2, 0, 1, 2, 0, 1])
    plain = write_tiny_config(
        str(tmp_path / 'tiny.py'), ann, str(tmp_path / 'frames'), epochs=2
    )
    search = tmp_path / 'search.py'
    search.write_text(f"_base_ = ['{plain}']\n" + SEARCH.format(mode=mode))
    result = run_script(
        'dist_train.sh', [str(search), '2', '--work-dir', 'work'], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "backend='gloo'" in log
    assert 'froze the architecture after epoch 1' in log
    archs = read_arch_files(tmp_path / 'work', SEARCH_ARCH_FILES)
    assert archs['arch_final.json'] == archs['arch_frozen.json']
    exported = run_tool(
        [
            'search/export_arch.py',
            str(search),
            'work/epoch_2.pth',
            '--out',
            'exported.json',
        ],
        str(tmp_path),
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert (
        read_arch_files(tmp_path, ['exported.json'])['exported.json']
        == (archs['arch_final.json'])
    )


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
