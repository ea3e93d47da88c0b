"""``import cakes_mm`` and a training run from our base runtime config
leave mmengine's functions, tables and hooks as mmengine made them: the
plugin extends mmengine only through its registries, its checkpoint loader
and its config scope table.

Checked in a fresh interpreter, so that no test's own set-up can hide or
cause a change."""

import json
import os
import subprocess
import sys

import pytest
from tool_helpers import (
    REPO,
    python_path,
    write_rawframe_dataset,
    write_tiny_config,
)

pytestmark = pytest.mark.slow  # trains in a subprocess

#: Records what cakes_mm used to patch, imports it, trains one epoch from a
#: config on our base runtime, resumes from its checkpoint, and prints what
#: changed (after the import, while checkpoints were saved, or after) as
#: JSON.
SCRIPT = """
import json
import sys

import mmengine.utils
from mmaction.registry import HOOKS
from mmengine.config import config as config_module
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.hooks import Hook, checkpoint_hook
from mmengine.runner import Runner
from mmengine.runner import runner as runner_module
from mmengine.runner.checkpoint import CheckpointLoader


def watched():
    return {
        'config.get_installed_path': id(config_module.get_installed_path),
        'utils.get_installed_path': id(mmengine.utils.get_installed_path),
        'MODULE2PACKAGE': id(MODULE2PACKAGE),
        'Runner.load_checkpoint': id(Runner.load_checkpoint),
        'runner._load_checkpoint': id(runner_module._load_checkpoint),
        # The whole table: no scheme replaced, added or removed.
        'CheckpointLoader._schemes': {
            prefix: id(loader)
            for prefix, loader in CheckpointLoader._schemes.items()
        },
        'checkpoint_hook.open': id(getattr(checkpoint_hook, 'open', None)),
        'LocalBackend.put': id(LocalBackend.put),
    }


before, table = watched(), dict(MODULE2PACKAGE)
during = []  # while checkpoints are saved


@HOOKS.register_module()
class WatchHook(Hook):
    def before_save_checkpoint(self, runner, checkpoint):
        during.append(watched())


config, work_dir = sys.argv[1:]
from cakes_mm.apis import train  # tools/train.py's code; imports cakes_mm
after_import = watched()
built, build = [], train.build_runner
train.build_runner = lambda cfg: built.append(build(cfg)) or built[-1]
train.main([config, '--work-dir', work_dir])
train.main([config, '--work-dir', work_dir, '--resume'])
assert during, 'no checkpoint was saved'
print(json.dumps({
    'changed': sorted({
        key
        for seen in [after_import, *during, watched()]
        for key in before
        if seen[key] != before[key]
    }),
    'table_added': {k: v for k, v in MODULE2PACKAGE.items() if k not in table},
    'table_kept': all(MODULE2PACKAGE.get(k) == v for k, v in table.items()),
    'runners': [type(runner).__name__ for runner in built],
}))
"""


def test_a_training_run_patches_nothing(tmp_path):
    ann = write_rawframe_dataset(str(tmp_path), [0, 1, 2, 0])
    config = write_tiny_config(
        str(tmp_path / 'tiny.py'), ann, str(tmp_path / 'frames')
    )
    with open(config, 'a') as file:
        file.write("custom_hooks = [dict(type='WatchHook')]\n")
    work = tmp_path / 'work'
    result = subprocess.run(
        [
            sys.executable,
            '-c',
            SCRIPT,
            config,
            str(work),
        ],
        cwd=str(tmp_path),
        env=dict(
            os.environ, PYTHONPATH=python_path(REPO), OMP_NUM_THREADS='1'
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report['changed'] == []
    assert report['table_added'] == {'cakes_mm': 'cakes_mm.registry'}
    assert report['table_kept']
    # The runs went through the runner and hooks our runtime config names.
    assert report['runners'] == ['CheckedRunner', 'CheckedRunner']
    log = (result.stdout + result.stderr).replace('\n', ' ')
    assert 'resumed epoch: 1' in log
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')
