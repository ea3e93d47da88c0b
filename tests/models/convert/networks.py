"""The networks conversion must work on, small: mmaction2's I3D ResNet3d
(3x3x3 inflation), MONAI's BasicUNet and our C3D baseline, with random
"trained" weights and norm statistics; and checks of converted networks."""

import re

import torch
from mmaction.registry import MODELS
from model_helpers import assert_every_parameter_learns, randomise_norms
from monai.networks.nets import BasicUNet

from cakes_mm.models import CAKESResNet

#: mmaction2's I3D ResNet-50 (inflated blocks as in its I3D config), at
#: width 8, keeping every frame (no temporal striding or pooling).
I3D = dict(
    type='ResNet3d',
    depth=50,
    base_channels=8,
    pretrained=None,
    pretrained2d=False,
    conv1_kernel=(5, 7, 7),
    conv1_stride_t=1,
    pool1_stride_t=1,
    with_pool2=False,
    inflate_style='3x3x3',
    inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
    zero_init_residual=False,
)


def trained(model):
    """Random weights and norm statistics, in eval mode."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    randomise_norms(model)
    model.eval()
    return model


def i3d():
    """A "trained" I3D ResNet3d."""
    return trained(MODELS.build(I3D))


def basic_unet(**kwargs):
    """A "trained" 3D BasicUNet with instance norms and conv biases."""
    kwargs.setdefault('features', (4, 4, 8, 8, 8, 4))
    return trained(
        BasicUNet(spatial_dims=3, in_channels=1, out_channels=2, **kwargs)
    )


def c3d():
    """Our "trained" C3D baseline."""
    return trained(CAKESResNet(arch='c3d', base_channels=8))


def params(model):
    """A model's parameter count."""
    return sum(p.numel() for p in model.parameters())


def every_parameter_learns(model, shape, exempt=()):
    """One training step's backward reaches every parameter.

    Biases whose gradient is zero by construction (a conv bias right before
    a norm that removes the mean) are found and exempted by
    :func:`model_helpers.assert_every_parameter_learns`.

    Args:
        model (nn.Module): The network.
        shape (tuple[int]): Its input; the batch is made 2.
        exempt (Sequence[str]): Regular expressions of further parameters
            that may get no gradient (say ops a sampled path left out); each
            must match one, so that none is exempt by mistake.
    """
    model.train()
    x = torch.randn(2, *shape[1:])
    names = [name for name, _ in model.named_parameters()]
    unused = [e for e in exempt if not any(re.search(e, n) for n in names)]
    assert not unused, unused
    skip = {n for n in names if any(re.search(e, n) for e in exempt)}
    assert_every_parameter_learns(
        model, lambda: model(x).square().mean(), skip
    )
