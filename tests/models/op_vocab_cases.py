"""Each network in its old spelling and in the op vocabulary, tiny: the
two must have the same state dict keys and parameter count (and the same
as before the vocabulary: ``KEY_DIGESTS`` was computed by the code before
it, from the old spellings)."""

import hashlib

import torch
import torch.nn as nn

from cakes_mm.models import (
    C2FNAS,
    CAKESConverted,
    CAKESResNet,
    CAKESResNetSupernet,
    DenseNet3D,
    PmSCnConverted,
    PmSCnResNet,
    UNet3D,
)

ALL_OPS = ['kxkxk', 'kxkx1', 'kx1xk', '1xkxk', 'kx1x1', '1xkx1', '1x1xk']
VIDEO_OPS = ['kxkxk', '1xkxk', 'kx1x1']
R50 = dict(base_channels=4)
R18 = dict(depth=18, base_channels=4)
UNET = dict(features=(4, 8))
DENSE = dict(
    layers_per_block=(2, 2), stem_channels=4, growth_rate=4, side_channels=2
)
C2F = dict(base_channels=4)


class TinyNet(nn.Module):
    """Two 3x3x3 conv → BN → ReLU, then a 1x1x1 head: a plain torch net."""

    def __init__(self, in_channels=1, width=4, out_width=6, classes=2):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = nn.Conv3d(width, out_width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(out_width)
        self.relu1 = nn.ReLU()
        self.relu2 = nn.ReLU()
        self.head = nn.Conv3d(out_width, classes, 1)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        return self.head(self.relu2(self.bn2(self.conv2(x))))


def tiny():
    torch.manual_seed(0)
    return TinyNet()


#: name: (old spelling, new spelling).
CASES = {
    'cakes_resnet_c2d': (
        lambda: CAKESResNet(arch='c2d', **R50),
        lambda: CAKESResNet(op=dict(type='conv2d'), **R50),
    ),
    'cakes_resnet_c3d': (
        lambda: CAKESResNet(arch='c3d', **R50),
        lambda: CAKESResNet(op=dict(type='conv3d'), **R50),
    ),
    'cakes_resnet_p3d': (
        lambda: CAKESResNet(arch='p3d', **R50),
        lambda: CAKESResNet(op=dict(type='p3d'), **R50),
    ),
    'cakes_resnet_uniform': (
        lambda: CAKESResNet(arch='uniform', op_set=VIDEO_OPS, kernel=3, **R50),
        lambda: CAKESResNet(
            op=dict(type='cakes', op_set=VIDEO_OPS), kernel_size=3, **R50
        ),
    ),
    'cakes_resnet_released': (
        lambda: CAKESResNet(arch='CAKES12D_P'),
        lambda: CAKESResNet(op=dict(type='cakes', arch='CAKES12D_P')),
    ),
    'cakes_supernet_cost': (
        lambda: CAKESResNetSupernet(op_set=VIDEO_OPS, mode='cost', **R50),
        lambda: CAKESResNetSupernet(
            op=dict(type='cakes_search', op_set=VIDEO_OPS, mode='cost'),
            **R50,
        ),
    ),
    'cakes_supernet_topk': (
        lambda: CAKESResNetSupernet(
            VIDEO_OPS[:2], 'performance', 'topk', **R50
        ),
        lambda: CAKESResNetSupernet(
            op=dict(type='cakes_search', op_set=VIDEO_OPS[:2], derive='topk'),
            **R50,
        ),
    ),
    'pmscn_resnet_r3d': (
        lambda: PmSCnResNet(pmscn=None, **R18),
        lambda: PmSCnResNet(op=dict(type='conv3d'), **R18),
    ),
    'pmscn_resnet_p2sc2': (
        lambda: PmSCnResNet(pmscn=dict(m=2, n=2), **R18),
        lambda: PmSCnResNet(op=dict(type='pmscn', m=2, n=2), **R18),
    ),
    'unet3d_trilinear': (
        lambda: UNet3D(3, 1, 2, op='3d', upsample='trilinear', **UNET),
        lambda: UNet3D(
            3, 1, 2, op=dict(type='conv3d'), upsample_mode='trilinear', **UNET
        ),
    ),
    'unet3d_pmscn': (
        lambda: UNet3D(3, 1, 2, op=dict(type='pmscn', m=2, n=2), **UNET),
        lambda: UNet3D(3, 1, 2, op=dict(type='pmscn', m=2, n=2), **UNET),
    ),
    'densenet3d_3d': (
        lambda: DenseNet3D(3, 1, 2, op='3d', **DENSE),
        lambda: DenseNet3D(3, 1, 2, op=dict(type='conv3d'), **DENSE),
    ),
    'c2fnas_2d': (
        lambda: C2FNAS(3, 1, 2, op='2d', **C2F),
        lambda: C2FNAS(3, 1, 2, op=dict(type='conv2d'), **C2F),
    ),
    'c2fnas_p3d': (
        lambda: C2FNAS(3, 1, 2, op='p3d', **C2F),
        lambda: C2FNAS(3, 1, 2, op=dict(type='p3d'), **C2F),
    ),
    'c2fnas_cakes_search': (
        lambda: C2FNAS(
            3, 1, 2, op=dict(type='cakes_search', op_set=ALL_OPS), **C2F
        ),
        lambda: C2FNAS(
            3, 1, 2, op=dict(type='cakes_search', op_set=ALL_OPS), **C2F
        ),
    ),
    'converted_cakes': (
        lambda: CAKESConverted(tiny(), op_set=VIDEO_OPS[:2]),
        lambda: _converted(dict(type='cakes', op_set=VIDEO_OPS[:2])),
    ),
    'converted_search': (
        lambda: CAKESConverted(tiny(), op_set=ALL_OPS, search='cost'),
        lambda: _converted(
            dict(type='cakes_search', op_set=ALL_OPS, mode='cost')
        ),
    ),
    'converted_pmscn': (
        lambda: PmSCnConverted(tiny(), 2, 2),
        lambda: _converted(dict(type='pmscn', m=2, n=2)),
    ),
}


def _converted(op):
    from cakes_mm.models import ConvertedNet

    return ConvertedNet(tiny(), op=op)


def digest(model):
    """(number of keys, sha1 of the keys in order, parameter count)."""
    keys = list(model.state_dict().keys())
    sha = hashlib.sha1('\n'.join(keys).encode()).hexdigest()[:16]
    return len(keys), sha, sum(p.numel() for p in model.parameters())


if __name__ == '__main__':  # prints KEY_DIGESTS from the old spellings
    import warnings

    warnings.simplefilter('ignore')
    import cakes_mm  # noqa: F401

    for name, (old, _) in CASES.items():
        with torch.device('meta'):
            print(f'    {name!r}: {digest(old())!r},')
