"""``cakes_mm::`` base configs from outside the repository
(cakes_mm.registry.register_config_scope and REGISTRIES, cakes_mm/.mim)."""

import filecmp
import logging
import os
import os.path as osp

import pytest
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.config import config as config_module
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.logging import MMLogger
from mmengine.utils import get_installed_path
from tool_helpers import REPO

from cakes_mm.registry import PACKAGE_DIR, REGISTRIES

USER_CONFIG = """
_base_ = ['cakes_mm::cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py']
model = dict(cls_head=dict(num_classes=10))
"""


class WarningRecorder(logging.Handler):
    """Collects the messages of warnings logged while attached."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def relative_files(root):
    """Paths of the files below ``root``, relative to it."""
    return sorted(
        osp.relpath(osp.join(folder, name), root)
        for folder, _, names in os.walk(root, followlinks=True)
        for name in names
        if not name.endswith('.pyc')
    )


def test_mim_folder_holds_the_configs_and_model_index():
    mim = osp.join(PACKAGE_DIR, '.mim')
    configs = relative_files(osp.join(REPO, 'configs'))
    assert relative_files(osp.join(mim, 'configs')) == configs
    assert filecmp.cmp(
        osp.join(mim, 'model-index.yml'),
        osp.join(REPO, 'model-index.yml'),
        shallow=False,
    )


def test_scope_is_registered():
    # One table entry; mmengine's lookup finds the package's folder itself.
    assert MODULE2PACKAGE['cakes_mm'] == 'cakes_mm.registry'
    assert config_module.get_installed_path is get_installed_path
    assert get_installed_path(MODULE2PACKAGE['cakes_mm']) == PACKAGE_DIR
    assert REGISTRIES['MODELS'].parent is MODELS
    assert REGISTRIES['DATASETS'].get(
        'CheckedRawframeDataset'
    ) is DATASETS.get('CheckedRawframeDataset')


def test_user_config_outside_repo_inherits_by_scope(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'my_config.py').write_text(USER_CONFIG)
    cfg = Config.fromfile('my_config.py')
    assert cfg.model.backbone.op.arch == 'CAKES123D_P'
    assert cfg.model.cls_head.num_classes == 10
    assert cfg.model._scope_ == 'cakes_mm'
    assert cfg.train_dataloader.dataset.filename_tmpl == '{:05}.jpg'
    logger, recorder = MMLogger.get_current_instance(), WarningRecorder()
    logger.addHandler(recorder)
    try:
        model = MODELS.build(cfg.model)
    finally:
        logger.removeHandler(recorder)
    assert type(model.backbone).__name__ == 'CAKESResNet'
    assert model.cls_head.num_classes == 10
    assert not [m for m in recorder.messages if 'cakes_mm' in m]


def test_unknown_scoped_config_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'bad.py').write_text(
        "_base_ = ['cakes_mm::cakes/no_such_config.py']\n"
    )
    with pytest.raises(FileNotFoundError, match='no_such_config'):
        Config.fromfile('bad.py')
