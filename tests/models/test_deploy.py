import pytest
import torch
from model_helpers import randomise_norms

from cakes_mm.models import CAKESResNet, CAKESResNetSupernet
from cakes_mm.models.arch import released_archs
from cakes_mm.models.layers.sub_kernels import SUB_KERNEL_NAMES


def trained_like(backbone):
    """Random weights and BN statistics, as after training, in eval mode."""
    backbone.init_weights()
    randomise_norms(backbone)
    backbone.eval()
    return backbone


def assert_deploy_matches_eval(backbone, clip):
    with torch.no_grad():
        expected = backbone(clip)
        backbone.switch_to_deploy()
        deployed = backbone(clip)
    outs = expected if isinstance(expected, tuple) else (expected,)
    deps = deployed if isinstance(deployed, tuple) else (deployed,)
    for want, got in zip(outs, deps):
        assert got.shape == want.shape
        torch.testing.assert_close(
            got, want, rtol=1e-4, atol=1e-4 * want.abs().max()
        )


@pytest.mark.parametrize('arch', sorted(released_archs()))
def test_deploy_equals_eval_for_every_released_arch(arch):
    backbone = trained_like(CAKESResNet(arch=arch, zero_init_residual=False))
    assert_deploy_matches_eval(backbone, torch.randn(1, 3, 4, 32, 32))


@pytest.mark.parametrize(
    'op_set',
    [[name] for name in SUB_KERNEL_NAMES]
    + [list(SUB_KERNEL_NAMES), ['kx1x1', 'kxkx1', '1xkxk', 'kxkxk']],
)
def test_deploy_equals_eval_for_every_sub_kernel(op_set):
    backbone = trained_like(
        CAKESResNet(
            arch='uniform',
            op_set=op_set,
            base_channels=8,
            out_indices=(0, 1, 2, 3),
        )
    )
    assert_deploy_matches_eval(backbone, torch.randn(2, 3, 5, 48, 40))


def test_deploy_flag_builds_the_form_a_switched_checkpoint_loads_into():
    kwargs = dict(arch='uniform', op_set=['kx1x1', '1xkxk'], base_channels=8)
    trained = trained_like(CAKESResNet(**kwargs))
    trained.eval()
    clip = torch.randn(1, 3, 4, 32, 32)
    with torch.inference_mode():  # as benchmarks and user scripts run it
        expected = trained(clip)
        trained.switch_to_deploy()
        switched = trained(clip)
    # The switch made ordinary parameters, not inference tensors, so the
    # deployed net can still be saved, reloaded and moved.
    assert not any(p.is_inference() for p in trained.parameters())
    deployed = CAKESResNet(**kwargs, deploy=True)
    assert not hasattr(deployed, 'layer1') and deployed.deploy_net is not None
    deployed.init_weights()  # nothing to initialise: weights come loaded
    deployed.load_state_dict(trained.state_dict(), strict=True)
    deployed.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            deployed(clip), switched, rtol=1e-5, atol=1e-6
        )
    torch.testing.assert_close(
        switched, expected, rtol=1e-4, atol=1e-4 * expected.abs().max()
    )
    # Weights are kept channels_last, the layout oneDNN runs fastest.
    convs = [
        m
        for m in deployed.deploy_net.modules()
        if isinstance(m, torch.nn.Conv2d)
    ]
    assert convs and all(
        conv.weight.is_contiguous(memory_format=torch.channels_last)
        for conv in convs
    )
    with pytest.raises(RuntimeError, match='inference only'):
        deployed.train()


def test_deploy_refuses_p3d_and_supernets():
    with pytest.raises(ValueError, match='P3DConv3d middle convs'):
        CAKESResNet(arch='p3d', base_channels=8).switch_to_deploy()
    with pytest.raises(ValueError, match='a search supernet'):
        CAKESResNetSupernet(
            mode='cost', op_set=['1xkxk', 'kx1x1'], base_channels=8
        ).switch_to_deploy()


@pytest.mark.slow
def test_test_tool_deploy_and_a_deploy_checkpoint_give_the_same_scores(
    tmp_path,
):
    import pickle

    from tool_helpers import (
        run_tool,
        write_rawframe_dataset,
        write_tiny_config,
    )

    ann = write_rawframe_dataset(str(tmp_path), [0, 1, 2, 1])
    config = write_tiny_config(
        str(tmp_path / 'tiny.py'), ann, str(tmp_path / 'frames')
    )
    assert (
        run_tool(
            ['train.py', config, '--work-dir', 'w'], str(tmp_path)
        ).returncode
        == 0
    )
    converted = run_tool(
        [
            'deployment/convert_to_deploy.py',
            config,
            'w/epoch_1.pth',
            'deploy.pth',
        ],
        str(tmp_path),
    )
    assert converted.returncode == 0, converted.stderr[-2000:]
    assert 'CAKESResNet in deploy form' in converted.stdout
    runs = {
        'eval': ['w/epoch_1.pth'],
        'switched': ['w/epoch_1.pth', '--deploy'],
        'deploy checkpoint': [
            'deploy.pth',
            '--cfg-options',
            'model.backbone.deploy=True',
        ],
    }
    scores = {}
    for name, args in runs.items():
        dump = f'{name.replace(" ", "_")}.pkl'
        result = run_tool(
            [
                'test.py',
                config,
                *args[:1],
                '--work-dir',
                'w',
                '--dump',
                dump,
                *args[1:],
            ],
            str(tmp_path),
        )
        assert result.returncode == 0, result.stderr[-2000:]
        with open(tmp_path / dump, 'rb') as f:
            scores[name] = torch.stack(
                [s['pred_score'] for s in pickle.load(f)]
            )
    torch.testing.assert_close(
        scores['switched'], scores['eval'], rtol=1e-4, atol=1e-6
    )
    torch.testing.assert_close(
        scores['deploy checkpoint'], scores['switched'], rtol=1e-5, atol=1e-6
    )
    refused = run_tool(
        [
            'deployment/convert_to_deploy.py',
            config,
            'w/epoch_1.pth',
            'p3d.pth',
            '--cfg-options',
            'model.backbone.arch=p3d',
        ],
        str(tmp_path),
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith('error: ')
    assert not (tmp_path / 'p3d.pth').exists()


@pytest.mark.parametrize('arch', ['CAKES123D_P', 'c3d'])
def test_deploy_builds_on_the_backbone_device(arch):
    """The deployed net is built where the trained one lives (a GPU in
    practice; here the meta device, which any machine has): no parameter
    or buffer is left behind on the CPU."""
    backbone = CAKESResNet(arch=arch).to('meta').eval()
    backbone.switch_to_deploy()
    tensors = list(backbone.parameters()) + list(backbone.buffers())
    assert tensors and {t.device.type for t in tensors} == {'meta'}
    out = backbone(torch.empty(1, 3, 4, 64, 64, device='meta'))
    assert out.shape == (1, 2048, 4, 2, 2) and out.device.type == 'meta'
