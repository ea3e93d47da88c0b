"""Read a 2D ResNet checkpoint in any common key layout, and inflate its
tensors into the shapes of a 3D ResNet.

Inflation works on torchvision's key layout (``conv1.weight``, ``bn1.*``,
``layer1.0.conv2.weight``, ``layer1.0.downsample.0.weight``, ``fc.*``). This
module reads a local checkpoint and maps the other layouts onto it:

* torchvision: as is;
* mmpretrain / mmcls: torchvision names under a ``backbone.`` prefix;
* mmaction2 ``ResNet``: ``ConvModule`` names (``conv1.conv.weight``,
  ``conv1.bn.*``, ``downsample.conv.*``, ``downsample.bn.*``), optionally
  under ``backbone.``;
* any of these saved from a DDP-wrapped model, under ``module.``.

Checkpoints are loaded with ``weights_only=True``: a file that carries
pickled code is refused, never executed.
"""

import os.path as osp
import pickle
import re
from typing import Dict, Tuple

import torch

StateDict = Dict[str, torch.Tensor]

_MMACTION_RULES = (
    (re.compile(r'^conv1\.conv\.'), 'conv1.'),
    (re.compile(r'^conv1\.bn\.'), 'bn1.'),
    (re.compile(r'^(layer\d+\.\d+)\.conv(\d)\.conv\.'), r'\1.conv\2.'),
    (re.compile(r'^(layer\d+\.\d+)\.conv(\d)\.bn\.'), r'\1.bn\2.'),
    (re.compile(r'^(layer\d+\.\d+)\.downsample\.conv\.'), r'\1.downsample.0.'),
    (re.compile(r'^(layer\d+\.\d+)\.downsample\.bn\.'), r'\1.downsample.1.'),
)


def to_torchvision_keys(state: StateDict) -> StateDict:
    """Map mmaction2 / mmpretrain ResNet keys onto torchvision's layout.

    Args:
        state (dict[str, torch.Tensor]): A 2D ResNet state dict.

    Returns:
        dict[str, torch.Tensor]: The same tensors under torchvision names.
    """
    mapped = {}
    for key, value in state.items():
        for prefix in ('module.', 'backbone.'):  # DDP, then OpenMMLab
            if key.startswith(prefix):
                key = key[len(prefix) :]
        for pattern, replacement in _MMACTION_RULES:
            key = pattern.sub(replacement, key)
        mapped[key] = value
    return mapped


def load_2d_resnet(path: str) -> StateDict:
    """Load a local 2D ResNet checkpoint as a torchvision-layout state dict.

    Args:
        path (str): A ``.pth`` file: a bare state dict, or a dict with a
            ``state_dict`` (mmengine, mmpretrain) or ``model`` entry.

    Returns:
        dict[str, torch.Tensor]: The tensors, in torchvision's key layout.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'pretrained checkpoint not found: {path}')
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f'{path}: refused to load; it holds objects that are not plain '
            f'tensors or allow-listed classes, and untrusted pickles are '
            f'never executed ({error})'
        ) from None
    except (RuntimeError, EOFError) as error:
        raise ValueError(
            f'{path}: not a readable PyTorch checkpoint ({error})'
        ) from None
    if isinstance(checkpoint, dict):
        for wrapper in ('state_dict', 'model'):
            if isinstance(checkpoint.get(wrapper), dict):
                checkpoint = checkpoint[wrapper]
                break
    if not isinstance(checkpoint, dict) or not all(
        isinstance(v, torch.Tensor) for v in checkpoint.values()
    ):
        raise ValueError(f'{path}: expected a state dict of tensors')
    return to_torchvision_keys(checkpoint)


def resnet_layout(state: StateDict) -> Tuple[Tuple[int, ...], bool]:
    """Read the stage depths and block type from torchvision-layout keys.

    Args:
        state (dict[str, torch.Tensor]): A torchvision-layout state dict.

    Returns:
        tuple: ``(blocks per stage, True if bottleneck blocks)``.
    """
    blocks = {}
    for key in state:
        match = re.match(r'^layer(\d+)\.(\d+)\.', key)
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            blocks[stage] = max(blocks.get(stage, 0), block + 1)
    stage_blocks = tuple(blocks[s] for s in sorted(blocks))
    return stage_blocks, 'layer1.0.conv3.weight' in state


def inflate_like(
    weight2d: torch.Tensor, shape3d: Tuple[int, ...]
) -> torch.Tensor:
    """Inflate a 2D kernel to a full 3D kernel shape: repeat along T / kT.

    Used for the stem, the 1x1 convs and the shortcut, whose spatial size
    matches the 2D kernel.

    Args:
        weight2d (torch.Tensor): A kernel of shape (C_out, C_in, kH, kW).
        shape3d (tuple[int]): The target (C_out, C_in, kT, kH, kW).

    Returns:
        torch.Tensor: The inflated kernel.
    """
    kt = shape3d[2]
    weight = weight2d.unsqueeze(2).repeat(1, 1, kt, 1, 1) / kt
    if tuple(weight.shape) != tuple(shape3d):
        raise ValueError(
            f'cannot inflate a 2D kernel of shape '
            f'{tuple(weight2d.shape)} to {tuple(shape3d)}'
        )
    return weight


def copy_into(target: StateDict, key: str, value: torch.Tensor) -> None:
    """Copy ``value`` into ``target[key]`` in place, checking the shape.

    Args:
        target (dict[str, torch.Tensor]): A module's state dict.
        key (str): The key to fill.
        value (torch.Tensor): The new value.
    """
    if tuple(target[key].shape) != tuple(value.shape):
        raise ValueError(
            f'{key}: the checkpoint gives shape '
            f'{tuple(value.shape)}, the model expects '
            f'{tuple(target[key].shape)}'
        )
    with torch.no_grad():
        target[key].copy_(value)


def inflate_into(target: StateDict, key: str, value: torch.Tensor) -> None:
    """Copy ``value`` into ``target[key]`` (:func:`copy_into`), inflated
    first (:func:`inflate_like`) where it is a 2D kernel and the entry a 3D
    one.

    Args:
        target (dict[str, torch.Tensor]): A module's state dict.
        key (str): The key to fill.
        value (torch.Tensor): The 2D network's tensor.
    """
    if target[key].dim() == 5 and value.dim() == 4:
        value = inflate_like(value, tuple(target[key].shape))
    copy_into(target, key, value)
