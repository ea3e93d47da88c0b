"""Every shipped config resolves and builds with the op vocabulary only: a
deprecated spelling (``arch=``, ``op_set=``, ``pmscn=``, ``mode=``, op
``'3d'``, ``upsample=``, ...) raises here."""

import glob
import os.path as osp
import warnings

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from tool_helpers import REPO

import cakes_mm  # noqa: F401
from cakes_mm.deprecation import CAKESDeprecationWarning

CONFIGS = sorted(
    osp.relpath(path, REPO)
    for path in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True
    )
)
LEAVES = [path for path in CONFIGS if '/_base_/' not in path]
#: Keys that name the op outside ``op=``, anywhere in a model dict.
OLD_KEYS = {'arch', 'op_set', 'pmscn', 'mode', 'derive', 'search', 'm', 'n'}
OLD_SPELLINGS = {'kernel', 'k', 'upsample'}
#: An arch file the searched configs read from a work_dir of a search run.
SEARCHED_ARCH = osp.join(
    REPO,
    'configs',
    'volumetric',
    'archs',
    'cakes-123d-perf_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.json',
)


def old_keys(model):
    """Dotted paths of old op keys outside ``op`` dicts."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == 'op':
                    if isinstance(value, str):
                        found.append(f'{path}.op={value!r}')
                    continue
                if key in OLD_SPELLINGS:
                    found.append(f'{path}.{key}')
                if key in OLD_KEYS and node.get('type') in BACKBONES:
                    found.append(f'{path}.{key}')
                walk(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}[{i}]')

    walk(model, 'model')
    return found


BACKBONES = {
    'CAKESResNet',
    'CAKESResNetSupernet',
    'PmSCnResNet',
    'UNet3D',
    'DenseNet3D',
    'C2FNAS',
    'ConvertedNet',
    'CAKESConverted',
    'PmSCnConverted',
}


@pytest.mark.parametrize('path', CONFIGS)
def test_config_resolves_without_old_op_keys(path):
    cfg = Config.fromfile(osp.join(REPO, path))
    assert not old_keys(cfg.to_dict().get('model', {})), path


@pytest.mark.parametrize('path', LEAVES)
def test_config_builds_with_deprecations_as_errors(path):
    cfg = Config.fromfile(osp.join(REPO, path))
    model = cfg.model
    network = model.get('network') or model.get('backbone') or {}
    op = network.get('op')
    if isinstance(op, dict) and str(op.get('arch', '')).startswith(
        'work_dirs/'
    ):
        op['arch'] = SEARCHED_ARCH  # the arch a search run would write
    with warnings.catch_warnings():
        warnings.simplefilter('error', CAKESDeprecationWarning)
        with torch.device('meta'):
            built = MODELS.build(model)
    assert sum(p.numel() for p in built.parameters()) > 0
