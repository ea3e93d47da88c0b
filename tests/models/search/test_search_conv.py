import copy

import pytest
import torch
import torch.nn.functional as F
from model_helpers import random_resnet2d, torchvision_layout

from cakes_mm.models import CAKESResNet, CAKESResNetSupernet
from cakes_mm.models.layers.kernel_shrinking import inflate_kernel
from cakes_mm.models.search import (
    CAKESSearchConv3d,
    cost_lasso,
    derive_mask,
    draw_paths_before_calls,
    dump_chosen,
    fix_chosen,
    is_frozen,
    mask_to_choice,
    search_conv,
    search_layers,
    share_path_generator,
)

OPS = ['kxkxk', '1xkxk', 'kx1x1']


def reference_outputs(conv, x):
    """Every op on every channel, BN'd with running stats: (ops, N, C...)."""
    bn = conv.search_bn
    outs = []
    for o, name in enumerate(conv.op_set):
        pairs = slice(o * conv.channels, (o + 1) * conv.channels)
        y = conv.convs[name](x)
        outs.append(
            F.batch_norm(
                y,
                bn.running_mean[pairs],
                bn.running_var[pairs],
                bn.weight[pairs],
                bn.bias[pairs],
                False,
                0.0,
                bn.eps,
            )
        )
    return torch.stack(outs)


def randomised(conv):
    with torch.no_grad():
        conv.search_bn.weight.uniform_(-1, 1)
        conv.search_bn.bias.normal_()
        conv.search_bn.running_mean.normal_()
        conv.search_bn.running_var.uniform_(0.5, 2)
    return conv


def test_performance_paths_change_but_channels_stay_in_place():
    conv = randomised(CAKESSearchConv3d(4, 12, OPS, 'performance'))
    conv.generator = torch.Generator().manual_seed(3)
    conv.train()
    conv.search_bn.eval()  # running stats, so outputs are comparable
    x = torch.randn(2, 4, 5, 6, 6)
    full = reference_outputs(conv, x)
    masks = []
    for _ in range(2):
        state = conv.generator.get_state()
        mask = conv.sample_mask()
        conv.generator.set_state(state)
        out = conv(x)
        assert out.shape == (2, 12, 5, 6, 6)
        assert torch.equal(mask.sum(dim=0), torch.ones(12, dtype=torch.long))
        expected = full[mask.int().argmax(dim=0), :, torch.arange(12)]
        torch.testing.assert_close(out, expected.transpose(0, 1))
        masks.append(mask)
    assert not torch.equal(masks[0], masks[1])


def test_only_drawn_filters_get_gradients():
    conv = CAKESSearchConv3d(3, 8, OPS, 'performance')
    conv.generator = torch.Generator().manual_seed(1)
    state = conv.generator.get_state()
    mask = conv.sample_mask()
    conv.generator.set_state(state)
    conv(torch.randn(2, 3, 4, 5, 5)).square().sum().backward()
    for o, name in enumerate(OPS):
        grad = conv.convs[name].weight.grad
        has_grad = (
            grad.flatten(1).abs().sum(dim=1) > 0
            if grad is not None
            else torch.zeros(8, dtype=torch.bool)
        )
        assert torch.equal(has_grad, mask[o])


def test_cost_mode_runs_every_pair_and_concatenates():
    conv = randomised(
        CAKESSearchConv3d(4, 6, OPS, 'cost', cost_output='concat')
    )
    conv.train()
    conv.search_bn.eval()
    x = torch.randn(2, 4, 5, 6, 6)
    out = conv(x)
    assert out.shape == (2, 18, 5, 6, 6)
    full = reference_outputs(conv, x)
    torch.testing.assert_close(out, torch.cat(list(full), dim=1))
    conv.eval()
    derived = conv.derived_mask().flatten()
    evaluated = conv(x)
    assert torch.all(evaluated[:, ~derived] == 0)
    torch.testing.assert_close(
        evaluated[:, derived], torch.cat(list(full), dim=1)[:, derived]
    )


def test_argmax_and_topk_on_a_hand_computed_example():
    alpha = torch.tensor([[0.9, 0.8, 0.7, 0.1], [0.2, 0.3, 0.4, 0.05]])
    argmax = derive_mask(alpha, 'argmax')
    assert argmax.tolist() == [
        [True, True, True, True],
        [False, False, False, False],
    ]
    topk = derive_mask(alpha, 'topk')
    assert topk.tolist() == [
        [True, True, True, False],
        [False, False, True, False],
    ]
    assert mask_to_choice(topk, ['a', 'b']) == {'a': 3, 'b': 1}
    with pytest.raises(ValueError, match='NaN or inf'):
        derive_mask(torch.tensor([[float('nan'), 1.0]]), 'argmax')


@pytest.mark.parametrize('derive', ['argmax', 'topk'])
@pytest.mark.parametrize('mode', ['performance', 'cost'])
def test_derived_arch_sums_to_every_width(mode, derive):
    backbone = CAKESResNetSupernet(
        mode=mode, op_set=OPS, derive=derive, base_channels=8
    )
    for _, conv in search_layers(backbone):
        randomised(conv)
    arch = dump_chosen(backbone)
    assert [sum(b.values()) for b in arch] == backbone.block_widths
    assert all(list(b) == OPS for b in arch)


@pytest.mark.parametrize('mode', ['performance', 'cost'])
def test_frozen_supernet_is_deterministic_in_train_mode(mode):
    backbone = CAKESResNetSupernet(
        mode=mode, op_set=OPS, base_channels=8, zero_init_residual=False
    )
    backbone.init_weights()
    for _, conv in search_layers(backbone):
        randomised(conv)
    x = torch.randn(2, 3, 4, 32, 32)
    backbone.train()
    if mode == 'performance':  # each call draws new paths
        assert not torch.equal(backbone(x), backbone(x))
    fix_chosen(backbone)
    assert is_frozen(backbone)
    backbone.train()
    torch.testing.assert_close(backbone(x), backbone(x), rtol=0, atol=0)


def test_supernet_forward_backward_reaches_every_parameter():
    for mode in ('performance', 'cost'):
        backbone = CAKESResNetSupernet(
            mode=mode, op_set=OPS, base_channels=8, zero_init_residual=False
        )
        backbone.init_weights()
        out = backbone(torch.randn(2, 3, 4, 32, 32))
        assert out.shape == (2, 256, 4, 1, 1)
        out.sum().backward()
        missing = [n for n, p in backbone.named_parameters() if p.grad is None]
        assert (
            not missing
            if mode == 'cost'
            else all('.convs.' in n for n in missing)
        )


def test_cost_lasso_is_lambda_beta_gamma():
    backbone = CAKESResNetSupernet(mode='cost', op_set=OPS, base_channels=8)
    for _, conv in search_layers(backbone):
        randomised(conv)
    beta = {'kxkxk': 9 / 13, '1xkxk': 3 / 13, 'kx1x1': 1 / 13}
    expected = 0.5 * sum(
        beta[op] * conv.search_bn.weight.view(3, -1)[o].abs().sum()
        for _, conv in search_layers(backbone)
        for o, op in enumerate(OPS)
    )
    torch.testing.assert_close(cost_lasso(backbone, 0.5), expected)
    doubled = 0.5 * sum(
        (2 if op == 'kx1x1' else beta[op])
        * conv.search_bn.weight.view(3, -1)[o].abs().sum()
        for _, conv in search_layers(backbone)
        for o, op in enumerate(OPS)
    )
    torch.testing.assert_close(
        cost_lasso(backbone, 0.5, beta={'kx1x1': 2}), doubled
    )
    perf = CAKESResNetSupernet(mode='performance', op_set=OPS, base_channels=8)
    assert cost_lasso(perf) is None


def test_supernet_inflation_repeats_filters_bn_and_conv3(tmp_path):
    state = torchvision_layout(random_resnet2d().state_dict())
    path = tmp_path / 'r50.pth'
    torch.save(state, path)
    backbone = CAKESResNetSupernet(
        mode='cost', op_set=OPS, pretrained=str(path)
    )
    backbone.init_weights()
    block = backbone.layer2[0]
    for name in OPS:
        torch.testing.assert_close(
            block.conv2.convs[name].weight,
            inflate_kernel(state['layer2.0.conv2.weight'], name),
        )
    torch.testing.assert_close(
        block.conv2.search_bn.weight, state['layer2.0.bn2.weight'].repeat(3)
    )
    torch.testing.assert_close(
        block.conv3.weight[:, :, 0, 0, 0],
        state['layer2.0.conv3.weight'][:, :, 0, 0].repeat(1, 3),
    )


def test_bad_op_sets_and_modes():
    with pytest.raises(ValueError, match='at least 2'):
        CAKESResNetSupernet(mode='performance', op_set=['1xkxk'])
    with pytest.raises(ValueError, match='unknown sub-kernel'):
        CAKESResNetSupernet(mode='cost', op_set=['1xkxk', '2x2x2'])
    with pytest.raises(ValueError, match='search mode must be one of'):
        CAKESResNetSupernet(mode='fast', op_set=OPS)
    with pytest.raises(ValueError, match='derive must be one of'):
        CAKESResNetSupernet(mode='cost', op_set=OPS, derive='max')
    with pytest.raises(ValueError, match='searches the arch; give op='):
        CAKESResNetSupernet(op_set=OPS, arch='c2d')
    with pytest.raises(ValueError, match='no searched layer'):
        dump_chosen(CAKESResNet(arch='c2d', base_channels=8))


@pytest.mark.parametrize('mode', ['performance', 'cost'])
def test_paths_are_drawn_on_the_cpu_for_a_layer_anywhere(mode):
    # On the meta device as on a GPU: the drawn mask stays on the CPU, so
    # finding its channels never waits for the device.
    conv = CAKESSearchConv3d(
        4, 6, ['kxkxk', '1xkxk'], mode=mode, device=torch.device('meta')
    ).train()
    assert conv.sample_mask().device.type == 'cpu'
    out = conv(torch.empty(2, 4, 3, 5, 5, device='meta'))
    assert out.device.type == 'meta' and out.shape == (2, 6, 3, 5, 5)


def trained_step(conv, x, seed):
    """One training call of ``conv`` on ``x`` with its path drawn from
    ``seed``, backward from a fixed random upstream gradient: the output,
    every gradient and the norm's running statistics."""
    conv.generator = torch.Generator().manual_seed(seed)
    conv.zero_grad(set_to_none=True)
    out = conv(x)
    upstream = torch.randn(
        out.shape, generator=torch.Generator().manual_seed(9)
    )
    out.backward(upstream)
    grads = {name: p.grad.clone() for name, p in conv.named_parameters()}
    norm = conv.search_bn
    return out.detach(), grads, (norm.running_mean, norm.running_var)


@pytest.mark.parametrize(
    'op_set, stride, bias',
    [
        (['1xkxk', 'kx1x1'], 1, False),
        (OPS, (1, 2, 2), True),
        (['1x1xk', '1xkx1'], 2, False),  # a 1 x k x k box
    ],
)
def test_dense_path_equals_one_conv_per_op(op_set, stride, bias):
    # The GPU form of a drawn path (one conv over the ops' box) against the
    # per-op convs, for the same draws: outputs, gradients and statistics.
    torch.manual_seed(0)
    per_op = CAKESSearchConv3d(4, 10, op_set, stride=stride, bias=bias)
    per_op = randomised(per_op).train()
    dense = copy.deepcopy(per_op)
    per_op.dense_paths, dense.dense_paths = False, True
    x = torch.randn(2, 4, 5, 7, 7)
    assert dense.uses_dense_path(x) and not per_op.uses_dense_path(x)
    for seed in range(3):
        expected = trained_step(per_op, x, seed)
        torch.testing.assert_close(
            trained_step(dense, x, seed), expected, atol=1e-5, rtol=1e-4
        )


def test_drawn_widths_are_padded_to_a_step_without_changing_the_step(
    monkeypatch,
):
    """Each op's drawn filters run as a conv whose width is a multiple of
    DRAWN_WIDTH_STEP (zero filters after them, their outputs dropped), so
    a new draw meets conv shapes met before; outputs, gradients and
    statistics are those of the unpadded convs."""
    torch.manual_seed(0)
    padded = randomised(CAKESSearchConv3d(4, 40, OPS, bias=True)).train()
    plain = copy.deepcopy(padded)
    widths = []
    real_box_conv = search_conv.box_conv

    def recording(x, weight, *args):
        widths.append(weight.shape[0])
        return real_box_conv(x, weight, *args)

    monkeypatch.setattr(search_conv, 'box_conv', recording)
    x = torch.randn(2, 4, 5, 7, 7)
    for seed in range(3):
        expected = trained_step(plain, x, seed)  # at the default step
        drawn = widths[-len(OPS) :]
        monkeypatch.setattr(search_conv, 'DRAWN_WIDTH_STEP', 1)
        got = trained_step(padded, x, seed)
        monkeypatch.setattr(search_conv, 'DRAWN_WIDTH_STEP', 16)
        assert all(width % 16 == 0 for width in drawn)
        assert sorted(widths[-len(OPS) :]) != sorted(drawn)  # unpadded
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('dense', [True, False])
def test_a_path_drawn_before_the_call_is_the_one_computed(dense):
    # What a CUDA graph replay (dense) or a compiled graph needs: the caller
    # draws, the call only computes, and the result is the call that draws
    # for itself; one conv per op (not dense) takes the same path.
    torch.manual_seed(0)
    drawing = randomised(CAKESSearchConv3d(4, 6, OPS)).train()
    drawing.dense_paths = True
    drawn_before = copy.deepcopy(drawing)
    drawn_before.dense_paths = dense
    x = torch.randn(2, 4, 3, 5, 5)
    expected = trained_step(drawing, x, seed=5)
    drawn_before.draws_in_forward = False
    drawn_before.generator = torch.Generator().manual_seed(5)
    drawn_before.draw_path()
    state = drawn_before.generator.get_state()
    out = drawn_before(x)
    assert torch.equal(drawn_before.generator.get_state(), state)
    exact = 0 if dense else 1e-5  # one conv per op sums in its own order
    torch.testing.assert_close(out, expected[0], atol=exact, rtol=exact)


def test_a_supernet_step_with_paths_drawn_by_the_caller():
    # The whole network, as a replayed CUDA graph runs it: the same paths,
    # drawn in module order before the call, give the same step.
    torch.manual_seed(0)
    eager = CAKESResNetSupernet(
        op_set=['1xkxk', 'kx1x1'], mode='performance', base_channels=8
    ).train()
    replayed = copy.deepcopy(eager)
    for model in (eager, replayed):
        for _, layer in search_layers(model):
            layer.dense_paths = True
        share_path_generator(model, seed=7)
    draw = draw_paths_before_calls(replayed)
    x = torch.randn(1, 3, 4, 32, 32)
    outputs = []
    for _ in range(2):
        draw()
        outputs.append((eager(x), replayed(x)))
    for expected, result in outputs:
        torch.testing.assert_close(result, expected, atol=0, rtol=0)
    assert not torch.equal(outputs[0][0], outputs[1][0])  # new paths


def test_a_drawn_path_keeps_channels_last_3d(threads):
    """A performance-mode layer puts its drawn channels back in place without
    leaving ``channels_last_3d`` (outputs equal to NCDHW's), so the norms and
    convs after it keep that layout in a search step; on one thread too,
    where PyTorch would run its ``kx1x1`` op on a kernel that returns the
    default layout."""
    conv = randomised(CAKESSearchConv3d(4, 12, OPS, 'performance'))
    conv.generator = torch.Generator().manual_seed(3)
    conv.train()
    conv.search_bn.eval()  # running stats, so outputs are comparable
    x = torch.randn(2, 4, 5, 6, 6)
    state = conv.generator.get_state()
    plain = conv(x)
    conv.generator.set_state(state)
    y = conv(x.contiguous(memory_format=torch.channels_last_3d))
    assert y.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(y, plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('cost_output', ['sum', 'concat'])
@pytest.mark.parametrize('state', ['train', 'eval', 'frozen'])
def test_all_pairs_form_equals_the_sparse_one(state, cost_output):
    # The form a compiled graph runs: every pair, the inactive ones zeroed.
    torch.manual_seed(0)
    conv = randomised(
        CAKESSearchConv3d(4, 6, OPS, 'cost', cost_output=cost_output)
    ).double()
    with torch.no_grad():  # a derived choice where channels share ops
        conv.search_bn.weight[6:12].mul_(4)
    conv.train(state != 'eval')
    if state == 'frozen':
        conv.fix_chosen()
    twin = copy.deepcopy(conv)
    x = torch.randn(2, 4, 5, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(conv._forward_all_pairs(x), twin(x))
    for name in ('running_mean', 'running_var'):
        torch.testing.assert_close(
            getattr(conv.search_bn, name), getattr(twin.search_bn, name)
        )
