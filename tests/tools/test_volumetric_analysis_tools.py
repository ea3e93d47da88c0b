"""get_flops.py and plot_arch.py (cakes_mm.analysis.arch_plot) on
segmentation configs and volumetric archs; the input shape a segmentor
config implies."""

import json

import pytest
from mmaction.registry import MODELS
from mmengine.config import Config
from tool_helpers import REPO, run_tool

from cakes_mm.analysis import default_input_shape, model_complexity
from cakes_mm.analysis.arch_plot import arch_bars, draw
from cakes_mm.apis import UnsupportedConfigError
from cakes_mm.models import CAKESConv3d
from cakes_mm.models.convert import build_network
from tools.segmentation_helpers import (
    ALL_OPS,
    BASIC_UNET,
    VOLUMETRIC,
    tiny_config,
)


def test_segmentor_shape_is_one_window_of_the_network_input():
    msd = Config.fromfile(
        f'{VOLUMETRIC}/cakes-123d-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
    )
    assert default_input_shape(msd) == (1, 1, 96, 96, 96)
    nih = Config.fromfile(
        f'{VOLUMETRIC}/c3d_c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py'
    )
    assert default_input_shape(nih) == (1, 1, 96, 96, 64)
    wrapped = Config(
        dict(
            model=dict(
                test_cfg=dict(roi_size=16),
                network=dict(
                    type='ConvertedNet',
                    model=dict(BASIC_UNET, in_channels=4),
                ),
            )
        )
    )
    assert default_input_shape(wrapped) == (1, 4, 16, 16, 16)
    video = Config.fromfile(
        f'{REPO}/configs/cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py'
    )
    assert default_input_shape(video) == (1, 3, 8, 224, 224)


def test_get_flops_counts_the_network_on_one_window(tmp_path):
    config = tiny_config(
        str(tmp_path / 'tiny.py'),
        'c3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        BASIC_UNET,
    )
    result = run_tool(['analysis/get_flops.py', config], str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    expected = model_complexity(build_network(BASIC_UNET), (1, 1, 32, 32, 32))
    assert expected.params > 0 and expected.flops > 0
    assert 'Input shape: (1, 1, 32, 32, 32)' in out
    assert f'Params: {expected.params_m:.2f} M' in out
    assert f'GFLOPs: {expected.gflops:.2f}' in out
    assert 'sliding window' in out


def unet_arch(op_set):
    """The arch of the tiny BasicUNet split uniformly over ``op_set``."""
    network = MODELS.build(
        dict(
            type='ConvertedNet',
            model=BASIC_UNET,
            op=dict(type='cakes', op_set=op_set),
        )
    )
    return [
        module.choice
        for module in network.modules()
        if isinstance(module, CAKESConv3d)
    ]


@pytest.fixture
def retrain_config(tmp_path):
    """The tiny retrain config and an arch file of all seven ops."""
    arch = unet_arch(ALL_OPS)
    path = tmp_path / 'arch.json'
    path.write_text(json.dumps(arch))
    config = tiny_config(
        str(tmp_path / 'retrain.py'),
        'cakes-123d-perf-retrain_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        dict(
            type='ConvertedNet',
            model=BASIC_UNET,
            op=dict(type='cakes', arch=None),
        ),
    )
    return config, str(path), arch


def test_plot_with_config_names_layers_and_counts_the_model(
    retrain_config, tmp_path
):
    config, arch_file, arch = retrain_config
    out = tmp_path / 'arch.png'
    drawn_arch, names, title = arch_bars(
        arch_file,
        config=config,
        cfg_options={'model.network.op.arch': arch_file},
    )
    draw(drawn_arch, names, title, str(out))
    assert out.read_bytes()[:4] == b'\x89PNG'
    assert drawn_arch == arch
    assert names[0] == 'network.model.conv_0.conv_0.conv'
    assert len(names) == len(arch) == 18
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'model.network.op.arch': arch_file})
    expected = model_complexity(MODELS.build(cfg.model), (1, 1, 32, 32, 32))
    assert title == (
        f'retrain.py: {expected.params_m:.2f} M '
        f'params, {expected.gflops:.2f} GFLOPs '
        f'(1x1x32x32x32)'
    )


def test_plot_refuses_a_config_without_the_arch(retrain_config, tmp_path):
    config, arch_file, _ = retrain_config
    other = tmp_path / 'other.json'
    other.write_text(json.dumps(unet_arch(['kxkxk'])))
    with pytest.raises(
        UnsupportedConfigError,
        match=r'does not use .*arch.json .*set the arch with '
        r'--cfg-options, e.g. model.network.op.arch=.*arch.json$',
    ):
        arch_bars(
            str(arch_file),
            config=config,
            cfg_options={'model.network.op.arch': str(other)},
        )


def test_the_tool_plots_a_c2fnas_sized_arch_without_config(tmp_path):
    # 17 layers over seven ops, as a C2FNAS search exports.
    arch = [
        {op: layer + index for index, op in enumerate(ALL_OPS)}
        for layer in range(17)
    ]
    path = tmp_path / 'c2fnas_arch.json'
    path.write_text(json.dumps(arch))
    out = tmp_path / 'c2fnas.png'
    result = run_tool(
        ['analysis/plot_arch.py', str(path), '--out', str(out)],
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == f'wrote {out}'
    assert out.read_bytes()[:4] == b'\x89PNG'
    drawn_arch, names, title = arch_bars(str(path))
    assert drawn_arch == arch
    assert names == [str(i) for i in range(17)]
    channels = sum(sum(layer.values()) for layer in arch)
    assert title == (
        f'c2fnas_arch.json: 17 layers, {channels} output channels'
    )


def test_plot_of_a_released_resnet_arch_is_unchanged(tmp_path):
    arch, names, title = arch_bars('CAKES123D_P')
    draw(arch, names, title, str(tmp_path / 'r50.png'))
    assert (tmp_path / 'r50.png').read_bytes()[:4] == b'\x89PNG'
    assert len(names) == 16 and names[0] == 'layer1.0'
    assert title.startswith('CAKES123D_P: 33.5 M params')
