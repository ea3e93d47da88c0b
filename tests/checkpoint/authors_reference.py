"""A reference of the CAKES authors' model, for the converter's tests.

Written from the layout documented in cakes_mm/checkpoint/official_cakes.py
(the authors' github.com/yucornetto/CAKES: I3D.py, operations.py,
models.py), without any of the converter's code: a ResNet-50 of
``nn.Conv3d`` under torchvision's names whose middle convs are the authors'
``convT`` (sub-kernel groups in the fixed order 3D, 2D, 1D, concatenated,
then one BN and ReLU; or the baselines' ``convT.op``), pooled per frame,
``new_fc`` per frame, logits averaged over frames. The input is the authors'
``(N, T * 3, H, W)`` stack of ImageNet-normalised frames.
"""

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from model_helpers import randomise_norms

from cakes_mm.models import released_archs

KERNELS = {'kxkxk': (3, 3, 3), '1xkxk': (1, 3, 3), 'kx1x1': (3, 1, 1)}
AUTHORS_ORDER = ('kxkxk', '1xkxk', 'kx1x1')
LAYERWISE_KERNELS = {
    'c2d': [(1, 3, 3)],
    'c3d': [(3, 3, 3)],
    'p3d': [(1, 3, 3), (3, 1, 1)],
}
STAGE_BLOCKS = (3, 4, 6, 3)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def conv(
    cin: int, cout: int, kernel: Sequence[int], stride: int = 1
) -> nn.Conv3d:
    """A bias-free Conv3d with 'same' padding and a spatial stride."""
    return nn.Conv3d(
        cin,
        cout,
        tuple(kernel),
        stride=(1, stride, stride),
        padding=tuple(k // 2 for k in kernel),
        bias=False,
    )


class SubKernelGroups(nn.Module):
    """The authors' ``Conv1_2D`` / ``Conv2_3D`` / ``Conv1_2_3D``."""

    def __init__(
        self, planes: int, choice: Dict[str, int], stride: int
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(conv(planes, choice[op], KERNELS[op], stride))
            for op in AUTHORS_ORDER
            if choice.get(op, 0) > 0
        )
        self.out = nn.Sequential(
            nn.BatchNorm3d(sum(choice.values())), nn.ReLU()
        )

    def forward(self, x):
        return self.out(torch.cat([group(x) for group in self.convs], 1))


class LayerwiseConv(nn.Module):
    """The authors' ``Conv2D`` / ``Conv3D`` / ``ConvP3D``."""

    def __init__(
        self, planes: int, kernels: Sequence[Tuple[int, ...]], stride: int
    ) -> None:
        super().__init__()
        convs = [conv(planes, planes, kernels[0], stride)]
        convs += [conv(planes, planes, kernel) for kernel in kernels[1:]]
        self.op = nn.Sequential(*convs, nn.BatchNorm3d(planes), nn.ReLU())

    def forward(self, x):
        return self.op(x)


class Bottleneck(nn.Module):
    """The authors' bottleneck: no bn2, the middle conv has its own BN."""

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        middle: nn.Module,
        middle_width: int,
    ) -> None:
        super().__init__()
        self.conv1 = conv(inplanes, planes, (1, 1, 1))
        self.bn1 = nn.BatchNorm3d(planes)
        self.convT = middle
        self.conv3 = conv(middle_width, planes * 4, (1, 1, 1))
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(
                conv(inplanes, planes * 4, (1, 1, 1), stride),
                nn.BatchNorm3d(planes * 4),
            )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn3(self.conv3(self.convT(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


class BaseModel(nn.Module):
    """The authors' I3D ResNet-50 without its classifier (a Dropout there)."""

    def __init__(self, arch: str, supernet: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(
            3, 64, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False
        )
        self.bn1 = nn.BatchNorm3d(64)
        self.maxpool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        choices = iter(released_archs().get(arch, [None] * 16))
        inplanes = 64
        for stage, blocks in enumerate(STAGE_BLOCKS):
            planes = 64 * 2**stage
            layer = []
            for index in range(blocks):
                stride = 2 if stage > 0 and index == 0 else 1
                middle, width = self._middle(
                    arch, planes, stride, next(choices), supernet
                )
                layer.append(
                    Bottleneck(inplanes, planes, stride, middle, width)
                )
                inplanes = planes * 4
            setattr(self, f'layer{stage + 1}', nn.Sequential(*layer))

    @staticmethod
    def _middle(
        arch: str,
        planes: int,
        stride: int,
        choice: Optional[Dict[str, int]],
        supernet: bool,
    ) -> Tuple[nn.Module, int]:
        """The block's convT and its output width."""
        if arch in LAYERWISE_KERNELS:
            return LayerwiseConv(
                planes, LAYERWISE_KERNELS[arch], stride
            ), planes
        if supernet:  # the cost-priority search: every op, every channel
            choice = {op: planes for op in choice}
        return SubKernelGroups(planes, choice, stride), sum(choice.values())

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        for stage in range(len(STAGE_BLOCKS)):
            x = getattr(self, f'layer{stage + 1}')(x)
        frames = x.transpose(1, 2).flatten(0, 1)  # (N * T, C, H, W)
        # The authors' 7x7 average pool is the mean of the 7x7 map at 224.
        return frames.mean(dim=(2, 3))


class TemporalModel(nn.Module):
    """The authors' TemporalModel with dropout > 0 (``new_fc``)."""

    def __init__(
        self,
        arch: str,
        num_segments: int,
        num_classes: int = 174,
        supernet: bool = False,
    ) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.base_model = BaseModel(arch, supernet)
        self.new_fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        clips = x.view((-1, self.num_segments, 3) + x.shape[-2:])
        logits = self.new_fc(self.base_model(clips.transpose(1, 2)))
        return logits.view(-1, self.num_segments, logits.shape[-1]).mean(dim=1)


def authors_model(
    arch: str, num_segments: int, supernet: bool = False
) -> TemporalModel:
    """A "trained" authors' model: random weights and BN statistics.

    Kaiming-normal convs keep the logits clearly input-dependent (with
    PyTorch's default init they are nearly constant).
    """
    model = TemporalModel(arch, num_segments, supernet=supernet)
    randomise_norms(model)
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
        elif isinstance(m, nn.BatchNorm3d):
            m.num_batches_tracked.fill_(1000)
    return model.eval()


def authors_state_dict(model: nn.Module) -> Dict[str, torch.Tensor]:
    """The state dict as the authors saved it, from DataParallel."""
    return nn.DataParallel(model).state_dict()


def meta_authors_state_dict(
    arch: str, supernet: bool = False
) -> Dict[str, torch.Tensor]:
    """The authors' keys and shapes without data, for the refusal tests."""
    with torch.device('meta'):
        return authors_state_dict(TemporalModel(arch, 1, supernet=supernet))


def authors_input(clip: torch.Tensor) -> torch.Tensor:
    """The authors' input for a (3, T, H, W) clip of 0-255 pixels."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1, 1)
    frames = ((clip / 255 - mean) / std).transpose(0, 1)  # (T, 3, H, W)
    return frames.reshape(1, -1, *frames.shape[-2:])
