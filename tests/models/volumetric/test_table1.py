"""Table 1 of the CAKES paper: params and multiply-adds of C2FNAS and its
CAKES forms on a 96³ patch, from the networks and through configs."""

import json
from dataclasses import astuple

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from tool_helpers import REPO

from cakes_mm.analysis import (
    TABLE1,
    default_input_shape,
    model_complexity,
    network_of,
    table1_rows,
)
from cakes_mm.models import C2FNAS
from cakes_mm.models.layers import kernel_volume

from .hand_count import count, uniform_weights

ONE_D = ['kx1x1', '1xkx1', '1x1xk']
TWO_D = ['kxkx1', 'kx1xk', '1xkxk']
ALL = ['kxkxk'] + TWO_D + ONE_D  # kxkxk first: it takes the remainder

#: Each Table 1 row with a config: its op, and its op convs' weights for C.
ROWS = {
    'C2FNAS 2D': ('conv2d', lambda c: 9 * c * c),
    'C2FNAS 3D': ('conv3d', lambda c: 27 * c * c),
    'C2FNAS P3D': ('p3d', lambda c: (9 + 3) * c * c),
    'CAKES 1D manual': (
        dict(type='cakes', op_set=ONE_D),
        uniform_weights([3, 3, 3]),
    ),
    'CAKES 2D manual': (
        dict(type='cakes', op_set=TWO_D),
        uniform_weights([9, 9, 9]),
    ),
    'CAKES 1,2,3D manual': (
        dict(type='cakes', op_set=ALL),
        uniform_weights([27, 9, 9, 9, 3, 3, 3]),
    ),
}
PAPER = {row.model: row for row in TABLE1}
PATCH = (1, 1, 96, 96, 96)
CONFIGS = f'{REPO}/configs'


def meta_c2fnas(op):
    """The full-size network, built where weights cost nothing."""
    with torch.device('meta'):
        return C2FNAS(3, 1, 3, op=op)


@pytest.mark.parametrize('name', ROWS)
def test_table1_row_from_the_network(name):
    op, op_weights = ROWS[name]
    ours = model_complexity(meta_c2fnas(op), PATCH)
    assert (ours.params, ours.flops) == count(op_weights)
    paper = PAPER[name]
    assert abs(ours.params_m - paper.params_m) <= 0.1
    assert abs(ours.gflops - paper.gflops) <= 0.02 * paper.gflops


#: Our search's settings, as its config and arch files name them.
SEARCH = 'c2fnas_1xb4-48x48x48-10e_mni-brain-mri'
#: The auto rows: our search's arch file, and the manual row whose op
#: volumes (hence params and FLOPs) it shares, if any.
AUTO = {
    'CAKES 1D auto': ('cakes-1d-perf', 'CAKES 1D manual'),
    'CAKES 2D auto': ('cakes-2d-perf', 'CAKES 2D manual'),
    'CAKES 1,2,3D auto': ('cakes-123d-perf', None),
    'CAKES 1,2,3D †': ('cakes-123d-cost', None),
}


@pytest.mark.parametrize('name', AUTO)
def test_auto_rows_count_the_arch_our_search_found(name):
    arch_name, manual = AUTO[name]
    cfg = Config.fromfile(f'{CONFIGS}/{PAPER[name].config}')
    arch_file = cfg.model.network.op.arch
    assert arch_file.endswith(f'archs/{arch_name}_{SEARCH}.json')
    arch = json.loads(open(arch_file).read())
    assert len(arch) == 17 and 'our own short search' in PAPER[name].note
    ours = model_complexity(meta_c2fnas(dict(type='cakes', arch=arch)), PATCH)
    # By hand: the 3D network, each op conv's 27·c² weights replaced by
    # its channels' sub-kernels (C2FNAS's op convs map c to c channels).
    full = model_complexity(meta_c2fnas('conv3d'), PATCH)
    widths = [sum(entry.values()) for entry in arch]
    assert ours.params == full.params - sum(27 * c * c for c in widths) + sum(
        n * c * kernel_volume(op)
        for entry, c in zip(arch, widths)
        for op, n in entry.items()
    )
    if manual is not None:  # every op of the set has the same volume
        same = model_complexity(meta_c2fnas(ROWS[manual][0]), PATCH)
        assert (ours.params, ours.flops) == (same.params, same.flops)


@MODELS.register_module(name='Table1TestSegmentor', force=True)
class Holder(torch.nn.Module):
    """A stand-in segmentor: it holds its network at ``.network``."""

    def __init__(self, network, test_cfg=None):
        super().__init__()
        self.network = MODELS.build(network)


def auto_arch(name):
    """The arch our search found for an auto row."""
    path = f'{CONFIGS}/volumetric/archs/{AUTO[name][0]}_{SEARCH}.json'
    with open(path) as file:
        return json.load(file)


def test_table1_rows_from_configs(tmp_path):
    # Half the configs are a segmentor holding the network, half the
    # network itself; both count as the network on the roi (or 96³).
    ops = {name: op for name, (op, _) in ROWS.items()}
    ops.update(
        {name: dict(type='cakes', arch=auto_arch(name)) for name in AUTO}
    )
    for index, row in enumerate(TABLE1):
        network = dict(
            type='C2FNAS',
            spatial_dims=3,
            in_channels=1,
            out_channels=3,
            op=ops[row.model],
        )
        model = (
            network
            if index % 2
            else dict(
                type='Table1TestSegmentor',
                network=network,
                test_cfg=dict(roi_size=[96, 96, 96]),
            )
        )
        path = tmp_path / row.config
        path.parent.mkdir(exist_ok=True)
        path.write_text(f'model = {model!r}\n')
    rows = table1_rows(str(tmp_path))
    assert [entry['row'] for entry in rows] == list(TABLE1)
    for entry in rows:
        name = entry['row'].model
        expected = (
            count(ROWS[name][1])
            if name in ROWS
            else astuple(model_complexity(meta_c2fnas(ops[name]), PATCH))
        )
        assert entry['params_m'] == expected[0] / 1e6
        assert entry['gflops'] == expected[1] / 1e9


def test_network_of_finds_the_segmentors_network():
    net = C2FNAS(3, 1, 3, base_channels=2)
    holder = torch.nn.Module()
    holder.network = net
    assert network_of(holder) is net
    assert network_of(net) is net


def test_default_input_shape_of_volumetric_configs():
    segmentor = Config(
        dict(
            model=dict(
                type='VolumeSegmentor',
                network=dict(type='DenseNet3D', in_channels=2),
                test_cfg=dict(roi_size=64),
            )
        )
    )
    assert default_input_shape(segmentor) == (1, 2, 64, 64, 64)
    network = Config(dict(model=dict(type='C2FNAS', spatial_dims=3)))
    assert default_input_shape(network) == (1, 1, 96, 96, 96)
    video = Config(dict(model=dict(type='Recognizer3D')))
    assert default_input_shape(video) == (1, 3, 8, 224, 224)
