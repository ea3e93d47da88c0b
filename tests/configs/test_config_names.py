"""Config names: each agrees with its config's contents, and every old
name resolves, with a warning, to the renamed file."""

import argparse
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import warnings

import pytest
from mmengine.config import Config
from tool_helpers import REPO, python_path

from cakes_mm import config_names
from cakes_mm.apis.runner import load_config
from cakes_mm.config_names import (
    DEPRECATED_CONFIGS,
    read_config,
    resolve_config,
)

CONFIGS = osp.join(REPO, 'configs')
#: Every config with a full name: the families' and the composite bases'
#: (the component bases under _base_/<kind>/ are named as mmaction2's).
NAMED = sorted(
    glob.glob(f'{CONFIGS}/*/*.py') + glob.glob(f'{CONFIGS}/_base_/*.py')
)
NAMED = [path for path in NAMED if not path.endswith('_runtime.py')]
#: One word per idea, in video, volumetric and arch names alike: the
#: CAKES mode, then what the config does with it.
MODES = {'perf', 'cost', 'manual'}
SUFFIXES = {'', 'search', 'retrain', 'authors-test'}
#: The other models: plain 2D, 3D or P3D convs, PmSCn units, or (in a
#: base config) the network alone.
CONVS = r'c2d|c3d|p3d|p\dsc\d|c2fnas|densenet3d|unet3d|r50'


def test_the_package_reads_this_checkouts_configs():
    # PYTHONPATH puts this checkout first; its .mim/configs links here.
    print('cakes_mm configs:', osp.realpath(config_names.CONFIGS_DIR))
    assert osp.realpath(config_names.CONFIGS_DIR) == osp.realpath(CONFIGS)


@pytest.mark.parametrize('path', NAMED, ids=osp.basename)
def test_the_name_is_read_from_the_config(path):
    name = osp.splitext(osp.basename(path))[0]
    *model_backbone, schedule, data = name.split('_')
    # A base shared by models of several kinds names its backbone alone.
    assert len(model_backbone) in ((1, 2) if '/_base_/' in path else (2,))
    cfg = Config.fromfile(path)
    assert schedule == config_names.schedule_part(cfg)
    assert data == config_names.data_part(cfg)
    if len(model_backbone) == 2:
        assert name == config_names.config_name(*model_backbone, cfg)


def test_idea_words_are_the_same_everywhere():
    archs = glob.glob(f'{CONFIGS}/volumetric/archs/*.json')
    for name in [osp.basename(path) for path in NAMED + archs]:
        model = name.split('_')[0]
        if not model.startswith('cakes'):
            assert re.fullmatch(CONVS, model), name
            continue
        parts = model.split('-')[1:]
        if parts and re.fullmatch(r'\d+d|planar', parts[0]):
            parts = parts[1:]  # the op set
        mode = parts.pop(0) if parts and parts[0] in MODES else None
        suffix = '-'.join(parts)
        assert suffix in SUFFIXES, name
        assert mode or suffix in ('', 'search'), name  # the shared bases
    arch_models = {osp.basename(path).split('_')[0] for path in archs}
    assert arch_models == {
        'cakes-1d-perf',
        'cakes-2d-perf',
        'cakes-123d-perf',
        'cakes-123d-cost',
    }
    for model in arch_models:  # each arch has the config that trains it
        assert glob.glob(f'{CONFIGS}/volumetric/{model}_c2fnas_*.py')


def test_every_old_name_resolves_to_an_existing_new_file(tmp_path):
    assert len(DEPRECATED_CONFIGS) > 80
    for old, new in DEPRECATED_CONFIGS.items():
        assert not osp.exists(osp.join(CONFIGS, old)), old
        assert osp.isfile(osp.join(CONFIGS, new)), new
        for given, expected in (
            (osp.join(CONFIGS, old), osp.join(CONFIGS, new)),
            (f'cakes_mm::{old}', osp.join(config_names.CONFIGS_DIR, new)),
        ):
            with pytest.warns(DeprecationWarning) as caught:
                assert resolve_config(given) == expected
            assert len(caught) == 1 and new in str(caught[0].message)


def test_new_names_and_other_files_pass_unwarned(tmp_path):
    own = tmp_path / 'configs' / 'cakes_r50_sthv1.py'  # an old name, kept
    own.parent.mkdir()
    own.write_text('x = 1\n')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        new = 'cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py'
        assert resolve_config(f'cakes_mm::{new}') == osp.join(
            config_names.CONFIGS_DIR, new
        )
        assert resolve_config(str(own)) == str(own)
        assert resolve_config('no/such/config.py') == 'no/such/config.py'
    with pytest.raises(FileNotFoundError, match='no/such/config.py'):
        read_config('no/such/config.py')


def test_a_relative_old_path_resolves_in_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    with pytest.warns(DeprecationWarning, match='renamed'):
        cfg = read_config('configs/pmscn/r3d_r34_64x1x1_ucf101.py')
    assert (
        osp.basename(cfg.filename) == 'c3d_r34_8xb8-64x1x1-50e_ucf101-rgb.py'
    )


def test_the_tools_take_old_and_scoped_names(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    def args(config):
        return argparse.Namespace(
            config=config,
            cfg_options=None,
            launcher='none',
            work_dir=None,
            local_rank=0,
        )

    new = 'c2d_r50_8xb12-u8-70e_sthv1-rgb'
    with pytest.warns(DeprecationWarning, match=new):
        cfg = load_config(args(f'{CONFIGS}/baselines/c2d_r50_8x1x1_sthv1.py'))
    assert cfg.work_dir == osp.join('work_dirs', new)
    assert cfg.model.backbone.op == dict(type='conv2d')
    cfg = load_config(args(f'cakes_mm::baselines/{new}.py'))
    assert cfg.work_dir == osp.join('work_dirs', new)
    with pytest.raises(SystemExit, match='config file not found'):
        load_config(args('cakes_mm::baselines/nothing.py'))


def test_the_warning_shows_outside_pytest(tmp_path):
    # Python hides DeprecationWarnings outside __main__ by default; a tool
    # run with an old name must still say where the config went.
    code = (
        'from cakes_mm.config_names import read_config\n'
        "read_config('cakes_mm::pmscn/r3d_r34_64x1x1_ucf101.py')\n"
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=python_path(REPO)),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [
        line
        for line in result.stderr.splitlines()
        if 'RenamedConfigWarning' in line
    ]
    assert len(lines) == 1, result.stderr
    assert 'c3d_r34_8xb8-64x1x1-50e_ucf101-rgb.py' in lines[0]
