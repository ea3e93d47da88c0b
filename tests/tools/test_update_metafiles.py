"""The metafiles follow the configs: cakes_mm.analysis.metafiles, and its
thin tool tools/analysis/update_metafiles.py."""

import glob
import os.path as osp
import shutil

import pytest
import yaml
from mmengine.config import Config
from tool_helpers import REPO, run_tool

from cakes_mm.analysis import metafiles
from cakes_mm.analysis.model_zoo import PAPER_ROWS

FLAGSHIP = 'cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb'


def read_yaml(path):
    with open(path) as file:
        return yaml.safe_load(file)


def metafile_configs():
    """Config path -> entry, over every family metafile model-index.yml
    imports."""
    found = {}
    for metafile in read_yaml(f'{REPO}/model-index.yml')['Import']:
        for model in read_yaml(f'{REPO}/{metafile}')['Models']:
            found[model['Config']] = model
    return found


@pytest.mark.slow  # counts every config's model in a subprocess (~30 s)
def test_the_tool_finds_the_committed_metafiles_up_to_date(tmp_path):
    result = run_tool(
        ['analysis/update_metafiles.py', '--check', '--root', REPO],
        str(tmp_path),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.strip() == 'metafiles up to date'


def test_every_shipped_config_has_a_metafile_entry():
    shipped = {
        osp.relpath(path, REPO)
        for path in glob.glob(f'{REPO}/configs/**/*.py', recursive=True)
        if '/_base_/' not in path
    }
    entries = metafile_configs()
    assert shipped == set(entries)
    for config, entry in entries.items():
        assert entry['Name'] == osp.splitext(osp.basename(config))[0]


def test_entries_carry_counted_and_published_numbers():
    models = {m['Name']: m for m in metafile_configs().values()}
    flagship = models[FLAGSHIP]
    assert flagship['Config'] == f'configs/cakes/{FLAGSHIP}.py'
    metadata = flagship['Metadata']
    assert metadata['FLOPs Input'] == '1x3x8x224x224'
    assert metadata['Training Resources'] == '8 GPUs'
    assert metadata['Training Data'] == 'SthV1'
    assert flagship['Modality'] == 'RGB'
    assert abs(float(metadata['Parameters'][:-1]) - 33.5) < 0.2
    assert abs(float(metadata['FLOPs'][:-1]) - 43.9) < 0.5
    assert flagship['Results'][0]['Metrics'] == {
        'Top 1 Accuracy': 47.2,
        'Top 5 Accuracy': 75.7,
    }
    sixteen = models['cakes-123d-perf_r50_8xb12-u16-70e_sthv1-rgb']
    assert sixteen['Metadata']['FLOPs Input'] == '1x3x16x224x224'
    assert sixteen['Results'][0]['Source'] == 'CAKES paper, Table 4'
    # Table 1 goes the same way as Tables 3 and 4: by the row's config.
    auto = models['cakes-123d-perf_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct']
    assert auto['Modality'] == 'CT'
    assert auto['Results'][0]['Task'] == 'Semantic Segmentation'
    assert auto['Results'][0]['Metrics']['Mean Dice'] == 64.42
    assert (
        'configs/cakes/metafile.yml'
        in read_yaml(f'{REPO}/model-index.yml')['Import']
    )


def test_every_published_row_names_a_shipped_config():
    entries = metafile_configs()
    for config, row in PAPER_ROWS.items():
        results = entries[f'configs/{config}']['Results']
        assert results[0]['Metrics'] == row.metrics()


def test_new_config_makes_metafile_stale_until_updated(tmp_path):
    configs = tmp_path / 'configs'
    shutil.copytree(f'{REPO}/configs/_base_', configs / '_base_')
    family = configs / 'cakes'
    family.mkdir()
    # A 1,2,3D model at the 1,2D row's path: the row is matched on the
    # path, whatever the config holds.
    name = 'cakes-12d-perf_r50_8xb12-u8-70e_sthv1-rgb'
    shutil.copy(f'{REPO}/configs/cakes/{FLAGSHIP}.py', family / f'{name}.py')
    root = str(tmp_path)
    stale = ['configs/cakes/metafile.yml', 'model-index.yml']
    assert metafiles.update_metafiles(root, check=True) == stale
    assert not (family / 'metafile.yml').exists()
    assert metafiles.update_metafiles(root) == stale
    assert metafiles.update_metafiles(root, check=True) == []
    data = yaml.safe_load((family / 'metafile.yml').read_text())
    entry = data['Models'][0]
    assert entry['Name'] == name
    assert entry['Results'][0]['Metrics']['Top 1 Accuracy'] == 46.3
    assert data['Collections'][0]['Paper']['URL'].endswith('2003.12798')
    assert yaml.safe_load((tmp_path / 'model-index.yml').read_text()) == {
        'Import': ['configs/cakes/metafile.yml']
    }


def test_main_reports_stale_files(tmp_path, capsys):
    (tmp_path / 'configs').mkdir()
    assert metafiles.main(['--check', '--root', str(tmp_path)]) == 1
    assert 'stale: model-index.yml' in capsys.readouterr().out
    assert metafiles.main(['--root', str(tmp_path)]) == 0
    assert metafiles.main(['--check', '--root', str(tmp_path)]) == 0


def test_dataset_comes_from_the_config_not_its_name():
    cfg = Config.fromfile(
        f'{REPO}/configs/pmscn/p2sc2_r34_8xb8-64x1x1-50e_ucf101-rgb.py'
    )
    assert metafiles.dataset_name(cfg) == 'UCF101'
    cfg.dataset_name = 'sthv2'
    assert metafiles.dataset_name(cfg) == 'SthV2'
