"""MONAI's UNet and SegResNet, converted in a config, through the whole
CAKES workflow of tools/: a cost-priority search by tools/train.py, its
arch exported by tools/search/export_arch.py, the fixed network retrained
from the original one converted with that arch, and tested by Dice.
"""

import json

import pytest
from tool_helpers import read_arch_files
from volumetric_helpers import write_msd_dataset

from tools.segmentation_helpers import (
    ALL_OPS,
    MONAI_SEGRESNET,
    MONAI_UNET,
    tiny_config,
)
from tools.test_volumetric_segmentation import (
    SEARCH_HOOK,
    assert_fixed_network,
    data_options,
    export_arch,
    tool,
)

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

#: The network, whether its search adds norms, and the widths of its
#: 3x3x3 convs in module order (the searched layers).
NETWORKS = {
    'UNet': (MONAI_UNET, False, [4, 8]),
    # convInit, the level-1 block, the down conv and level-2 block, the
    # up block.
    'SegResNet': (MONAI_SEGRESNET, True, [8, 8, 8, 16, 16, 16, 8, 8]),
}
ONE_EPOCH = 'train_cfg = dict(max_epochs=1)\n'
ONE_EPOCH_ARCH_FILES = (
    'arch_epoch_1.json',
    'arch_frozen.json',
    'arch_final.json',
)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Five 32^3 cases: four train, one held out."""
    root = tmp_path_factory.mktemp('msd')
    write_msd_dataset(str(root), num_cases=5)
    return root


@pytest.fixture(scope='module', params=list(NETWORKS))
def searched(request, data, tmp_path_factory):
    """A one-epoch cost-priority search of the network over all seven ops,
    frozen after that epoch."""
    name = request.param
    network, add_norm, _ = NETWORKS[name]
    root = tmp_path_factory.mktemp(name)
    config = tiny_config(
        str(root / 'search.py'),
        'cakes-123d-cost-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        dict(
            type='ConvertedNet',
            model=network,
            op=dict(type='cakes_search', op_set=ALL_OPS, mode='cost'),
            add_norm=add_norm,
        ),
        SEARCH_HOOK + ONE_EPOCH,
    )
    log = tool(
        ['train.py', config, '--work-dir', 'search', *data_options(data)],
        root,
    )
    return name, root, config, log


def test_search_writes_one_arch_entry_per_conv(searched):
    name, root, _, log = searched
    _, add_norm, widths = NETWORKS[name]
    archs = read_arch_files(root / 'search', ONE_EPOCH_ARCH_FILES)
    for arch in archs.values():
        assert [sum(entry.values()) for entry in arch] == widths
    assert archs['arch_final.json'] == archs['arch_frozen.json']
    assert 'loss_alpha' in log
    assert 'froze the architecture after epoch 1' in log
    assert ('IN3d added' in log) == add_norm


def test_exported_arch_retrains_and_tests_by_dice(searched, data):
    name, root, config, _ = searched
    network, _, _ = NETWORKS[name]
    exported = root / 'exported.json'
    arch = export_arch(config, root / 'search' / 'epoch_1.pth', exported)
    final = json.loads((root / 'search' / 'arch_final.json').read_text())
    assert arch == final
    retrain = tiny_config(
        str(root / 'retrain.py'),
        'c3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        dict(
            type='ConvertedNet',
            model=network,
            op=dict(type='cakes', arch=str(exported)),
        ),
        ONE_EPOCH,
    )
    log = tool(
        ['train.py', retrain, '--work-dir', 'retrain', *data_options(data)],
        root,
    )
    assert 'loss_seg' in log and 'loss_alpha' not in log
    checkpoint = root / 'retrain' / 'epoch_1.pth'
    assert_fixed_network(retrain, arch, checkpoint)
    log = tool(
        [
            'test.py',
            retrain,
            str(checkpoint),
            '--work-dir',
            'test',
            *data_options(data),
        ],
        root,
    )
    assert 'dice/mean' in log and 'dice/tumour' in log
