"""plot_arch's hint for a config whose model does not use the arch: the
``--cfg-options`` key follows the model's structure, not the config's name.
"""

import json

import pytest
from mmengine.config import Config
from tools.segmentation_helpers import ALL_OPS, TINY_C2FNAS, tiny_config

from cakes_mm.analysis.arch_plot import arch_bars, arch_option
from cakes_mm.apis import UnsupportedConfigError

#: A recognizer's model, as the video configs write it.
RECOGNIZER = dict(
    type='CAKESRecognizer3D',
    backbone=dict(type='CAKESResNet', arch='c2d', base_channels=8),
    cls_head=dict(type='I3DHead', num_classes=4, in_channels=256),
)


@pytest.mark.parametrize(
    'model, option',
    [
        (RECOGNIZER, 'model.backbone.arch'),
        # A converted backbone takes the arch itself, still a backbone's.
        (
            dict(backbone=dict(type='CAKESConverted', model={})),
            'model.backbone.arch',
        ),
        (dict(network=TINY_C2FNAS), 'model.network.op.arch'),
        (
            dict(network=dict(type='CAKESConverted', model={}, arch=None)),
            'model.network.arch',
        ),
        (
            dict(network=dict(type='CAKESConverted', model={})),
            'model.network.arch',
        ),
        (dict(type='Other'), None),
    ],
)
def test_the_option_follows_the_models_structure(model, option):
    assert arch_option(model) == option


def refusal(spec, config):
    """The message of the refusal to plot ``spec`` with ``config``."""
    with pytest.raises(UnsupportedConfigError) as error:
        arch_bars(spec, config=config)
    return str(error.value)


def test_a_video_config_is_told_to_set_the_backbones_arch(tmp_path):
    # Named like a volumetric config: the hint reads the model, not the name.
    config = str(tmp_path / 'c2fnas_96x96x96_msd-pancreas.py')
    Config(dict(model=RECOGNIZER)).dump(config)
    message = refusal('CAKES123D_P', config)
    assert message.endswith(
        'set the arch with --cfg-options, e.g. model.backbone.arch=CAKES123D_P'
    )
    assert 'network' not in message


def test_a_segmentation_config_is_told_to_set_its_ops_arch(tmp_path):
    arch = [{op: 1 for op in ALL_OPS}] * 17
    spec = tmp_path / 'arch.json'
    spec.write_text(json.dumps(arch))
    # Named like a video config.
    config = tiny_config(
        str(tmp_path / 'cakes_r50_8x1x1_sthv1.py'),
        'cakes-123d-perf-retrain_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        dict(TINY_C2FNAS, op=dict(type='cakes', op_set=ALL_OPS)),
    )
    message = refusal(str(spec), config)
    assert message.endswith(f'e.g. model.network.op.arch={spec}')
    assert 'backbone' not in message
