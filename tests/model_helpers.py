"""Helpers shared by the model tests: random "trained" norms, random 2D
ResNet checkpoints in torchvision's key layout, the check that every
parameter of a network learns, a call counter and a thread-count block."""

import re
from collections import defaultdict
from contextlib import contextmanager
from functools import partial

import torch
from mmaction.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.instancenorm import _InstanceNorm

# The tests' own map from mmaction2 ResNet keys to torchvision keys, written
# independently of cakes_mm's, to produce torchvision-layout checkpoints.
TORCHVISION_KEYS = [
    (r'^conv1\.conv\.', 'conv1.'),
    (r'^conv1\.bn\.', 'bn1.'),
    (r'\.conv(\d)\.conv\.', r'.conv\1.'),
    (r'\.conv(\d)\.bn\.', r'.bn\1.'),
    (r'\.downsample\.conv\.', '.downsample.0.'),
    (r'\.downsample\.bn\.', '.downsample.1.'),
]


def randomise_norms(module):
    """Give every BN random affine parameters and running statistics, as
    after training, so that equivalence tests cannot pass by accident.

    Returns:
        The same module.
    """
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return module


def random_resnet2d(depth=50):
    """mmaction2's 2D ResNet with random weights and norms, in eval mode."""
    resnet = randomise_norms(
        MODELS.build(dict(type='ResNet', depth=depth, pretrained=None))
    )
    resnet.eval()  # not chained: mmaction2's ResNet.train() returns None
    return resnet


def torchvision_layout(state):
    """An mmaction2 ResNet state dict under torchvision's key names."""
    mapped = {}
    for key, value in state.items():
        for pattern, replacement in TORCHVISION_KEYS:
            key = re.sub(pattern, replacement, key)
        mapped[key] = value
    return mapped


# A conv bias adds one constant to each output channel. A norm that
# subtracts each channel's mean (batch norm on batch statistics, instance
# norm) removes that constant again, so the gradient of a bias whose output
# goes only into such a norm is zero by construction: what backward returns
# is rounding, exactly 0 on some machines. These biases are found in the
# autograd graph and exempted from the check; every other parameter must
# get a nonzero gradient. Channel concatenation and channel reordering
# (a CAKES conv joining its sub-kernel groups) keep a constant per channel.
CHANNEL_WISE = ('CatBackward0', 'IndexSelectBackward0')


def removes_channel_mean(module):
    """Whether a module is a norm that now subtracts its input's own
    per-channel mean (not running statistics)."""
    return isinstance(module, (_BatchNorm, _InstanceNorm)) and (
        module.training or not module.track_running_stats
    )


def record_forward(model, run):
    """Run ``run()`` with hooks on ``model``'s convs and norms.

    Args:
        model (nn.Module): The network.
        run (Callable[[], torch.Tensor]): Computes the loss with ``model``.

    Returns:
        tuple: The loss; a dict from each conv bias's name to the autograd
        nodes of that conv's outputs; the (input node, output node) of
        every call to a mean-removing norm.
    """
    outputs, norms = defaultdict(list), []

    def on_conv(bias, conv, args, out):
        outputs[bias].append(out.grad_fn)

    def on_norm(norm, args, out):
        if removes_channel_mean(norm):
            norms.append((args[0].grad_fn, out.grad_fn))

    hooks = [
        m.register_forward_hook(partial(on_conv, f'{name}.bias'.lstrip('.')))
        for name, m in model.named_modules()
        if isinstance(m, _ConvNd) and m.bias is not None
    ] + [m.register_forward_hook(on_norm) for m in model.modules()]
    try:
        loss = run()
    finally:
        for hook in hooks:
            hook.remove()
    return loss, outputs, norms


def inside_norms(norms):
    """The autograd nodes computed inside the given norm calls."""
    inside = set()
    for entry, exit_node in norms:
        stack = [exit_node]
        while stack:
            node = stack.pop()
            if node is None or node is entry or node in inside:
                continue
            if type(node).__name__ == 'AccumulateGrad':  # the norm's affine
                continue
            inside.add(node)
            stack.extend(n for n, _ in node.next_functions)
    return inside


def users_of(root):
    """Map each autograd node under ``root`` to the nodes using its output."""
    users, seen, stack = defaultdict(list), {root}, [root]
    while stack:
        node = stack.pop()
        for used, _ in node.next_functions:
            if used is None:
                continue
            users[used].append(node)
            if used not in seen:
                seen.add(used)
                stack.append(used)
    return users


def normalised_away(node, users, inside):
    """Whether every use of ``node``'s output reaches a mean-removing norm
    through channel-wise ops only."""
    return bool(users[node]) and all(
        user in inside
        or (
            type(user).__name__ in CHANNEL_WISE
            and user._saved_dim == 1
            and normalised_away(user, users, inside)
        )
        for user in users[node]
    )


def assert_every_parameter_learns(model, run, skip=()):
    """Backpropagate ``run()`` and assert that every trainable parameter of
    ``model`` gets a nonzero gradient, except the conv biases whose
    gradient is zero by construction (see above).

    Args:
        model (nn.Module): The network.
        run (Callable[[], torch.Tensor]): Computes a scalar loss with
            ``model``.
        skip (Collection[str]): Names of parameters not to check, that the
            caller checks itself. Defaults to none.
    """
    loss, outputs, norms = record_forward(model, run)
    users, inside = users_of(loss.grad_fn), inside_norms(norms)
    exempt = {
        bias
        for bias, nodes in outputs.items()
        if all(normalised_away(node, users, inside) for node in nodes)
    }
    loss.backward()
    grads = {
        name: p.grad
        for name, p in model.named_parameters()
        if p.requires_grad and name not in exempt and name not in skip
    }
    silent = [n for n, g in grads.items() if g is None or not g.abs().sum()]
    assert not silent, f'{silent} get no gradient'
    # The exemption is checked too: those gradients are rounding only.
    largest = max(g.abs().max() for g in grads.values())
    params = dict(model.named_parameters())
    for name in exempt:
        assert params[name].grad.abs().max() <= 1e-4 * largest, name


def count_calls(monkeypatch, owner, name):
    """Wrap ``owner.name`` for the test so that each call also appends an
    entry to the list returned.

    Args:
        monkeypatch (pytest.MonkeyPatch): The test's fixture.
        owner (object): A module or class.
        name (str): The attribute to wrap.

    Returns:
        list: One entry per call.
    """
    calls = []
    function = getattr(owner, name)
    monkeypatch.setattr(
        owner,
        name,
        lambda *args, **kwargs: calls.append(1) or function(*args, **kwargs),
    )
    return calls


@contextmanager
def torch_threads(count):
    """Run torch on ``count`` intra-op threads inside the block (one, as
    under torchrun and in the demos), and restore the count after it.

    Args:
        count (int): The number of threads.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(before)


def channels_last(*shape, seed=0, scale=3.0, shift=1.0):
    """A seeded ``channels_last_3d`` tensor, off zero mean and unit
    spread."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=generator) * scale + shift
    return x.contiguous(memory_format=torch.channels_last_3d)
