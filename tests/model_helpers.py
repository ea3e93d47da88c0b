"""Helpers shared by the model tests: random "trained" norms and random 2D
ResNet checkpoints in torchvision's key layout."""

import re

from mmaction.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

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
