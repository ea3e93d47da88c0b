"""tools/analysis/update_metafiles.py: the metafiles follow the configs."""

import shutil

import yaml
from tool_helpers import REPO, load_tool

update_metafiles = load_tool('analysis/update_metafiles.py')


def test_repository_metafiles_are_up_to_date(capsys):
    assert update_metafiles.main(['--check']) == 0, capsys.readouterr().out


def test_entries_carry_counted_and_published_numbers():
    with open(f'{REPO}/configs/cakes/metafile.yml') as file:
        models = {m['Name']: m for m in yaml.safe_load(file)['Models']}
    flagship = models['cakes-123d-perf_r50_8x1x1_sthv1']
    assert (
        flagship['Config']
        == 'configs/cakes/cakes-123d-perf_r50_8x1x1_sthv1.py'
    )
    metadata = flagship['Metadata']
    assert metadata['FLOPs Input'] == '1x3x8x224x224'
    assert abs(float(metadata['Parameters'][:-1]) - 33.5) < 0.2
    assert abs(float(metadata['FLOPs'][:-1]) - 43.9) < 0.5
    assert flagship['Results'][0]['Metrics'] == {
        'Top 1 Accuracy': 47.2,
        'Top 5 Accuracy': 75.7,
    }
    assert (
        models['cakes-123d-perf_r50_16x1x1_sthv1']['Metadata']['FLOPs Input']
        == '1x3x16x224x224'
    )
    with open(f'{REPO}/model-index.yml') as file:
        assert 'configs/cakes/metafile.yml' in yaml.safe_load(file)['Import']


def test_new_config_makes_metafile_stale_until_updated(tmp_path, capsys):
    configs = tmp_path / 'configs'
    shutil.copytree(f'{REPO}/configs/_base_', configs / '_base_')
    family = configs / 'cakes'
    family.mkdir()
    shutil.copy(
        f'{REPO}/configs/cakes/cakes-123d-perf_r50_8x1x1_sthv1.py',
        family / 'cakes-12d-perf_r50_8x1x1_sthv1.py',
    )
    root = ['--root', str(tmp_path)]
    assert update_metafiles.main(['--check', *root]) == 1
    assert (
        'stale: configs/cakes/metafile.yml, model-index.yml'
        in capsys.readouterr().out
    )
    assert update_metafiles.main(root) == 0
    assert update_metafiles.main(['--check', *root]) == 0
    data = yaml.safe_load((family / 'metafile.yml').read_text())
    entry = data['Models'][0]
    assert entry['Name'] == 'cakes-12d-perf_r50_8x1x1_sthv1'
    assert entry['Results'][0]['Metrics']['Top 1 Accuracy'] == 46.3
    assert data['Collections'][0]['Paper']['URL'].endswith('2003.12798')
    assert yaml.safe_load((tmp_path / 'model-index.yml').read_text()) == {
        'Import': ['configs/cakes/metafile.yml']
    }


def test_paper_key_and_dataset_name():
    assert update_metafiles.paper_key('c2d_r50_8x1x1_sthv1') == (
        'c2d',
        'r50',
        8,
        'sthv1',
    )
    assert update_metafiles.paper_key('odd-name') is None
    assert (
        update_metafiles.paper_key('c2d_r50-w16_8x1x1_synthetic-motion')
        not in update_metafiles.PAPER_RESULTS
    )
    assert update_metafiles.dataset_name('p2sc2_r34_64x1x1_ucf101') == 'UCF101'
