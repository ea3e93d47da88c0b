"""Every fixed network, and the supernet in every state, compiles whole (no
graph break) and equals eager; every family trains a step in bf16 autocast
on the CPU."""

import copy

import pytest
import torch
import torch._dynamo as dynamo
from model_helpers import randomise_norms
from monai.networks.nets import UNet

from cakes_mm.models import (
    C2FNAS,
    CAKESResNet,
    CAKESResNetSupernet,
    PmSCnResNet,
    UNet3D,
)
from cakes_mm.models.convert import convert_to_cakes
from cakes_mm.models.layers import CAKESConv3d
from cakes_mm.models.search import (
    draw_paths_before_calls,
    fix_chosen,
    share_path_generator,
)

OPS = ['kxkxk', '1xkxk', 'kx1x1']
ALL_OPS = OPS + ['kxkx1', 'kx1xk', '1xkx1', '1x1xk']
CLIP, VOLUME = (1, 3, 4, 32, 32), (1, 1, 16, 16, 16)


def cakes_resnet(deploy=False):
    return CAKESResNet(
        arch='uniform', op_set=OPS, base_channels=8, deploy=deploy
    )


def p2sc2(deploy=False):
    net = PmSCnResNet(depth=18, pmscn=dict(m=2, n=2), base_channels=4)
    if deploy:
        randomise_norms(net).eval().switch_to_deploy()
    return net


def converted_monai_unet():
    # MONAI's UNet compiles whole (its BasicUNet does not: torch.jit calls)
    net = UNet(3, 1, 2, channels=(4, 8, 16), strides=(2, 2))
    convert_to_cakes(net, op_set=ALL_OPS)
    return net


def supernet(mode):
    return CAKESResNetSupernet(
        op=dict(type='cakes_search', op_set=OPS, mode=mode), base_channels=8
    )


NETWORKS = {
    'cakes_resnet': (cakes_resnet, CLIP),
    'cakes_resnet_deploy': (lambda: cakes_resnet(deploy=True), CLIP),
    'p2sc2_resnet': (p2sc2, CLIP),
    'p2sc2_resnet_deploy': (lambda: p2sc2(deploy=True), CLIP),
    'c2fnas_cakes': (
        lambda: C2FNAS(3, 1, 2, op=dict(type='cakes', op_set=ALL_OPS)),
        (1, 1, 32, 32, 32),  # it downsamples 16x
    ),
    'unet3d_cakes': (
        lambda: UNet3D(
            3, 1, 2, op=dict(type='cakes', op_set=ALL_OPS), features=(8, 16)
        ),
        VOLUME,
    ),
    'unet3d_p2sc2': (
        lambda: UNet3D(
            3, 1, 2, op=dict(type='pmscn', m=2, n=2), features=(8, 16)
        ),
        VOLUME,
    ),
    'converted_monai_unet': (converted_monai_unet, VOLUME),
}


@pytest.mark.parametrize('name', NETWORKS)
def test_a_fixed_network_compiles_whole_and_equals_eager(name):
    build, shape = NETWORKS[name]
    torch.manual_seed(0)
    net = build().eval()
    x = torch.randn(shape)
    dynamo.reset()
    explained = dynamo.explain(net)(x)
    assert explained.graph_break_count == 0, explained.break_reasons
    compiled = torch.compile(net, backend='aot_eager', fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), net(x), rtol=1e-4, atol=1e-4)
    dynamo.reset()


def test_the_compiled_deploy_form_adds_its_shifted_frames_out_of_place():
    """Compiled, a deploy-form CAKES ResNet writes no slice in place: its
    shifted temporal adds are pads and adds, which Inductor fuses into
    plain loops (in place, each block became one kernel of nested masked
    loads). Eager keeps adding in place."""
    torch.manual_seed(0)
    net = cakes_resnet(deploy=True).eval()
    called = set()

    def record(graph_module, inputs):
        called.update(
            node.target.__name__
            for node in graph_module.graph.nodes
            if node.op == 'call_function'
        )
        return graph_module.forward

    dynamo.reset()
    x = torch.randn(CLIP)
    with torch.no_grad():
        out = torch.compile(net, backend=record, fullgraph=True)(x)
        torch.testing.assert_close(out, net(x), rtol=1e-5, atol=1e-5)
    dynamo.reset()
    assert 'pad' in called and 'setitem' not in called
    groups = [m for m in net.modules() if hasattr(m, 'offsets')]
    assert groups and not any(group.out_of_place for group in groups)


def running_stats(net):
    return [b for name, b in net.named_buffers() if 'running' in name]


@pytest.mark.parametrize(
    'mode, state',
    [
        ('performance', 'drawn before the call'),
        ('performance', 'eval'),
        ('performance', 'frozen'),
        ('cost', 'train'),
        ('cost', 'eval'),
        ('cost', 'frozen'),
    ],
)
def test_the_supernet_compiles_whole_in_every_state_and_equals_eager(
    mode, state
):
    torch.manual_seed(0)
    net = supernet(mode)
    # float64: in training the deepest norms see a few values each, which
    # would magnify float32 rounding (the two forms sum in other orders).
    randomise_norms(net).double().train(state != 'eval')
    if state == 'frozen':
        fix_chosen(net)
    draw = None
    if state == 'drawn before the call':
        share_path_generator(net, seed=1)
        draw = draw_paths_before_calls(net)
        draw()
    x = torch.randn(CLIP, dtype=torch.float64)
    eager = copy.deepcopy(net)  # the sparse path, one conv per active op
    dynamo.reset()
    explained = dynamo.explain(copy.deepcopy(net))(x)
    assert explained.graph_break_count == 0, explained.break_reasons
    compiled = torch.compile(net, backend='aot_eager', fullgraph=True)
    for _ in range(2):  # in training, a second path and updated statistics
        torch.testing.assert_close(compiled(x), eager(x), rtol=1e-4, atol=1e-4)
        for a, b in zip(running_stats(net), running_stats(eager)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        if draw is not None:
            draw()  # eager, a copy, already takes its paths from the caller
            for a, b in zip(net.modules(), eager.modules()):
                if hasattr(a, 'drawn'):
                    b.drawn.copy_(a.drawn)
    dynamo.reset()


# C2FNAS is left out: at a test-sized input (32³, downsampled 16×) its
# instance norms see 2³ voxels, where a bf16 variance can round to zero and
# the gradients overflow; one CI run saw it. Its op is checked in bf16 by
# test_a_cakes_conv_in_bf16_is_its_fp32_output_rounded.
BF16_NETWORKS = {
    name: case
    for name, case in NETWORKS.items()
    if 'deploy' not in name and 'c2fnas' not in name
}
BF16_NETWORKS.update(
    {
        f'supernet_{mode}': (lambda mode=mode: supernet(mode), CLIP)
        for mode in ('performance', 'cost')
    }
)


@pytest.mark.parametrize('name', BF16_NETWORKS)
def test_a_network_trains_in_bf16_autocast_close_to_fp32(name):
    build, shape = BF16_NETWORKS[name]
    torch.manual_seed(0)
    net = randomise_norms(build()).train()
    x = torch.randn((2,) + shape[1:])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = net(x)
    loss = out.float().square().mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(
        torch.isfinite(p.grad).all()
        for p in net.parameters()
        if p.grad is not None
    )
    # In eval mode (fixed statistics), bf16 (8 bits of mantissa) stays
    # within a few percent of the fp32 output's scale.
    net.eval()
    with torch.no_grad():
        reference = net(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = net(x).float()
    assert (low - reference).abs().max() <= 0.05 * reference.abs().max()


def test_a_cakes_conv_in_bf16_is_its_fp32_output_rounded():
    torch.manual_seed(0)
    conv = CAKESConv3d.uniform(16, 16, ALL_OPS)
    x = torch.randn(2, 16, 6, 8, 8)
    reference = conv(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = conv(x)
    assert low.dtype == torch.bfloat16
    # Inputs and weights rounded to bf16 (relative 2^-9 each), summed over
    # at most 27 x 16 products: well within 2% of the output's scale.
    error = (low.float() - reference).abs().max()
    assert error <= 0.02 * reference.abs().max()


def test_the_cpu_amp_wrapper_autocasts_bf16_and_steps():
    from mmaction.registry import OPTIM_WRAPPERS

    net = torch.nn.Sequential(torch.nn.Conv3d(2, 3, 3), torch.nn.Flatten())
    wrapper = OPTIM_WRAPPERS.build(
        dict(
            type='CPUAmpOptimWrapper',
            optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
        )
    )
    before = net[0].weight.detach().clone()
    with wrapper.optim_context(net):
        assert torch.is_autocast_cpu_enabled()
        out = net(torch.randn(2, 2, 4, 4, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().square().mean())
    assert net[0].weight.dtype == torch.float32
    assert not torch.equal(net[0].weight, before)
    with pytest.raises(ValueError, match='dtype must be one of'):
        OPTIM_WRAPPERS.build(
            dict(type='CPUAmpOptimWrapper', dtype='int8', optimizer=None)
        )
