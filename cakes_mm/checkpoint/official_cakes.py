"""Load the CAKES authors' released checkpoints into cakes_mm's recognizer.

The paper's public code (github.com/yucornetto/CAKES, MIT License,
Copyright (c) 2020 yucornetto) trains a ``TemporalModel`` inside
``nn.DataParallel`` and saves ``{'state_dict': ..., 'epoch': ...}``. Its
layout, as read from that code:

* ``module.base_model.*``: a ResNet-50 under torchvision's names (``conv1``,
  ``bn1``, ``layerX.Y.conv1/bn1/conv3/bn3``, ``layerX.Y.downsample.0/1``)
  built from ``nn.Conv3d``, so weights are 5D; 4D (2D) weights of T-size-1
  convs are accepted too and unsqueezed along time.
* Each bottleneck's middle conv is ``layerX.Y.convT``, which carries its own
  BN and ReLU; the block has no ``bn2``.

  - Searched archs: one ``nn.Conv3d`` per sub-kernel group at
    ``convT.convs.<i>.0``, always in the order 3D (``kxkxk``), 2D
    (``1xkxk``), 1D (``kx1x1``) whatever the arch dict's key order; a group
    with no channels has no conv, so ``i`` counts the groups present. The
    BN of the concatenated output is ``convT.out.0``.
  - Baselines: ``convT.op`` is ``Sequential(conv, BN, ReLU)`` (C2D
    ``1x3x3``, C3D ``3x3x3``) or ``Sequential(1x3x3, 3x1x1, BN, ReLU)``
    (P3D).

* The classifier is ``module.new_fc`` (dropout > 0, as released) or else
  ``module.base_model.fc``. It is applied to each frame's pooled features and
  the logits are averaged over frames; fc being linear, that equals
  mmaction2's ``I3DHead`` (pool over time and space, then fc), so it becomes
  ``cls_head.fc_cls``.

The authors' annotation lists come from TRN's ``process_dataset.py``
(github.com/zhoubolei/TRN-pytorch), which numbers the classes by their
sorted names; ``tools/data/sthv1/build_file_list.py`` numbers them in the
order of the official labels file. Given that file, the classifier's rows
are reordered to match (:func:`reorder_classes`).

Our ``CAKESConv3d`` orders its groups by the arch dict's keys, which differ
from the authors' fixed order for ``CAKES123D_C``; there ``bn2`` and
conv3's input channels are permuted so that the network computes the same
function. Search supernets and checkpoints of another arch are refused.
"""

import io
import itertools
import os.path as osp
import re
from dataclasses import dataclass
from typing import (
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import torch

from ..datasets import read_annotation
from ..fileio import atomic_write
from ..models import CAKESResNet, released_archs
from ..models.backbones.cakes_resnet import arch_op
from .safe_load import UnsafeCheckpointError, load_local_checkpoint

#: The authors' group order inside every ``convT`` (see the module doc).
AUTHORS_GROUP_ORDER = ('kxkxk', '1xkxk', 'kx1x1')
#: Layer-wise baselines, stored as ``convT.op``.
LAYERWISE_ARCHS = ('c2d', 'c3d', 'p3d')
#: Where the authors' model keeps its backbone and classifier.
BASE_MODEL = 'base_model.'
CLASSIFIERS = ('new_fc', 'base_model.fc')
#: The recognizer's classifier, as in configs/_base_/models/cakes_r50.py.
OUR_CLASSIFIER = 'cls_head.fc_cls'
DEPTH = 50
#: How torch.save's files start: a zip archive, or (before PyTorch 1.6, as
#: the authors' PyTorch 1.0) a pickle of protocol 2 or later.
CHECKPOINT_MAGIC = (b'PK\x03\x04', b'\x80')
BLOCK_KEY = re.compile(r'^(layer\d+\.\d+)\.(.+)\.([^.]+)$')

Groups = Tuple[Tuple[int, Tuple[int, ...]], ...]


class OfficialCheckpointError(ValueError):
    """A file that is not a checkpoint of the authors' model for an arch."""


def official_arch_names() -> List[str]:
    """The arch names a released checkpoint can be converted as.

    Returns:
        list[str]: The six released archs, then ``c2d``, ``c3d``, ``p3d``.
    """
    return [*released_archs(), *LAYERWISE_ARCHS]


def backbone_template(arch: str) -> Dict[str, torch.Tensor]:
    """The state dict of our ``CAKESResNet`` for ``arch``, on the meta device.

    Args:
        arch (str): One of :func:`official_arch_names`.

    Returns:
        dict[str, torch.Tensor]: Backbone keys (no prefix) to meta tensors.
    """
    with torch.device('meta'):
        backbone = CAKESResNet(depth=DEPTH, op=arch_op(arch))
    return backbone.state_dict()


def block_names(template: Mapping[str, torch.Tensor]) -> List[str]:
    """The bottlenecks of a backbone state dict, e.g. ``'layer1.0'``."""
    found = (BLOCK_KEY.match(key) for key in template)
    return list(dict.fromkeys(match.group(1) for match in found if match))


def kernel_text(kernel: Sequence[int]) -> str:
    """``3x3x3``."""
    return 'x'.join(map(str, kernel))


def describe_groups(layout: str, groups: Groups) -> str:
    """A middle conv in words, e.g. ``convT.convs.* of widths 41 (3x3x3)``."""
    if not groups:
        return 'no middle conv (no convT weights)'
    widths = ', '.join(
        f'{width} ({kernel_text(kernel)})' for width, kernel in groups
    )
    return f'{layout}.* of widths {widths}'


def groups_of(weights: Iterable[torch.Tensor]) -> Groups:
    """(width, kernel) of each conv weight."""
    return tuple((w.shape[0], tuple(w.shape[2:])) for w in weights)


@dataclass(frozen=True)
class BlockPlan:
    """Where one of our bottlenecks finds its middle conv in the authors'.

    Args:
        layout (str): ``'convT.convs'`` (searched archs) or ``'convT.op'``
            (baselines).
        groups (tuple): (width, kernel) of each conv, in the authors' order.
        renames (dict[str, str]): Our module (``'conv2.convs.kxkxk'``,
            ``'bn2'``) to the authors' (``'convT.convs.0.0'``,
            ``'convT.out.0'``), relative to the block.
        channel_order (tuple[int], optional): For each of our middle
            channels, its index among the authors'; None when they agree.
    """

    layout: str
    groups: Groups
    renames: Dict[str, str]
    channel_order: Optional[Tuple[int, ...]]


def plan_block(
    template: Mapping[str, torch.Tensor], block: str, layerwise: bool
) -> BlockPlan:
    """Plan one block from our model's middle-conv weights.

    Args:
        template (Mapping[str, torch.Tensor]): :func:`backbone_template`.
        block (str): e.g. ``'layer1.0'``.
        layerwise (bool): Whether the arch is a C2D/C3D/P3D baseline.

    Returns:
        BlockPlan: The plan.
    """
    prefix = f'{block}.conv2.'
    ours = [
        (key[len(block) + 1 : -len('.weight')], weight)
        for key, weight in template.items()
        if key.startswith(prefix) and key.endswith('.weight')
    ]
    if layerwise:
        renames = {
            module: f'convT.op.{j}' for j, (module, _) in enumerate(ours)
        }
        renames['bn2'] = f'convT.op.{len(ours)}'
        return BlockPlan(
            'convT.op', groups_of(w for _, w in ours), renames, None
        )
    authors = sorted(
        ours,
        key=lambda entry: AUTHORS_GROUP_ORDER.index(
            entry[0].rsplit('.', 1)[1]
        ),
    )
    renames = {
        module: f'convT.convs.{i}.0' for i, (module, _) in enumerate(authors)
    }
    renames['bn2'] = 'convT.out.0'
    starts, start = {}, 0
    for module, weight in authors:
        starts[module] = start
        start += weight.shape[0]
    order = tuple(
        channel
        for module, weight in ours
        for channel in range(starts[module], starts[module] + weight.shape[0])
    )
    return BlockPlan(
        'convT.convs',
        groups_of(w for _, w in authors),
        renames,
        None if order == tuple(range(start)) else order,
    )


class SourceWeights:
    """The authors' tensors, with the keys taken so far.

    Args:
        state (Mapping[str, object]): The checkpoint's state dict.
        source (str): The file, for error messages.
    """

    def __init__(self, state: Mapping[str, object], source: str) -> None:
        self.tensors = {
            key: value
            for key, value in state.items()
            if torch.is_tensor(value)
        }
        self.source = source
        self.taken = set()
        self.prefix = next(
            (
                prefix
                for prefix in ('module.', '')
                if any(
                    key.startswith(prefix + BASE_MODEL) for key in self.tensors
                )
            ),
            None,
        )
        if self.prefix is None:
            example = next(iter(self.tensors), 'none')
            raise OfficialCheckpointError(
                f"{source}: no recognisable state dict: the authors' "
                f"checkpoints hold 'module.{BASE_MODEL}*' weights (their "
                f'TemporalModel saved from DataParallel); found '
                f'{len(self.tensors)} tensors, e.g. {example!r}'
            )

    def key(self, name: str) -> str:
        """The full key of a base-model weight, e.g. ``'layer1.0.conv1'``."""
        return f'{self.prefix}{BASE_MODEL}{name}'

    def get(self, name: str) -> Optional[torch.Tensor]:
        """A base-model tensor, or None; not marked as taken."""
        return self.tensors.get(self.key(name))

    def take(self, key: str) -> torch.Tensor:
        """The tensor at a full key, marked as taken."""
        if key not in self.tensors:
            raise OfficialCheckpointError(f'{self.source}: {key} is missing')
        self.taken.add(key)
        return self.tensors[key]

    def stored_groups(self, block: str) -> Tuple[str, Groups]:
        """The layout and (width, kernel) of a block's stored middle conv."""
        for layout, suffix in (
            ('convT.convs', '.0.weight'),
            ('convT.op', '.weight'),
        ):
            found = list(self.conv_run(f'{block}.{layout}', suffix))
            if found:
                return layout, groups_of(found)
        return '', ()

    def conv_run(self, module: str, suffix: str) -> Iterator[torch.Tensor]:
        """Conv weights at ``module.0``, ``module.1``... up to a gap or a
        non-conv (the BN after ``convT.op``'s convs)."""
        for index in itertools.count():
            weight = self.get(f'{module}.{index}{suffix}')
            if weight is None or weight.dim() < 4:
                return
            yield weight

    def untaken(self) -> List[str]:
        """Keys not used by the conversion."""
        return [key for key in self.tensors if key not in self.taken]


def check_not_supernet(weights: SourceWeights, block: str) -> None:
    """Refuse a checkpoint of the authors' search supernet.

    The performance-priority search keeps a ``convT.norm`` BN over every op;
    the cost-priority search gives every group all of the block's channels
    and a BN over all of them.
    """
    norm = weights.get(f'{block}.convT.norm.weight')
    bn = weights.get(f'{block}.convT.out.0.weight')
    conv1 = weights.get(f'{block}.conv1.weight')
    _, groups = weights.stored_groups(block)
    planes = None if conv1 is None else conv1.shape[0]
    all_channels = len(groups) > 1 and all(
        width == planes for width, _ in groups
    )
    if norm is None and not (
        all_channels and bn is not None and bn.shape[0] == len(groups) * planes
    ):
        return
    kind = 'performance' if norm is not None else 'cost'
    width = (norm if norm is not None else bn).shape[0]
    raise OfficialCheckpointError(
        f"{weights.source}: {block}: a checkpoint of the authors' "
        f'{kind}-priority search supernet, not of a searched network: '
        f'{len(groups)} sub-kernel groups of all {planes} channels each '
        f'and a search BN of {width}. Derive the architecture it found, '
        f'train that network, and convert the trained checkpoint.'
    )


def fitting_arch(
    weights: SourceWeights, blocks: Sequence[str], exclude: str
) -> Optional[str]:
    """The official arch whose middle convs the checkpoint holds, if any."""
    stored = [weights.stored_groups(block) for block in blocks]
    for name in official_arch_names():
        if name == exclude:
            continue
        template = backbone_template(name)
        layerwise = name in LAYERWISE_ARCHS
        if all(
            (plan.layout, plan.groups) == found
            for plan, found in zip(
                (plan_block(template, block, layerwise) for block in blocks),
                stored,
            )
        ):
            return name
    return None


def check_fits(
    weights: SourceWeights, plans: Mapping[str, BlockPlan], arch: str
) -> None:
    """Refuse a checkpoint whose middle convs are not those of ``arch``."""
    for block, plan in plans.items():
        found = weights.stored_groups(block)
        if found == (plan.layout, plan.groups):
            continue
        other = fitting_arch(weights, list(plans), arch)
        hint = (
            f'; it holds {other}: convert it with --arch {other}'
            if other
            else ''
        )
        raise OfficialCheckpointError(
            f'{weights.source}: not a {arch} checkpoint: {block} should '
            f'hold {describe_groups(plan.layout, plan.groups)}, it holds '
            f'{describe_groups(*found)}{hint}'
        )


def fit_tensor(
    tensor: torch.Tensor,
    like: torch.Tensor,
    source_key: str,
    target_key: str,
    source: str,
) -> torch.Tensor:
    """``tensor`` shaped as ``like``: 2D weights of T-size-1 convs are
    unsqueezed along time; any other difference is refused."""
    if tensor.dim() == 4 and like.dim() == 5 and like.shape[2] == 1:
        tensor = tensor.unsqueeze(2)
    if tensor.shape != like.shape:
        raise OfficialCheckpointError(
            f'{source}: {source_key} has shape {tuple(tensor.shape)}; '
            f'{target_key} needs {tuple(like.shape)}'
        )
    return tensor.contiguous()


def source_of(
    name: str, like: torch.Tensor, plans: Mapping[str, BlockPlan]
) -> Tuple[str, Optional[int]]:
    """Where our backbone tensor ``name`` comes from in the authors' base
    model, and the dim to reorder by the block's ``channel_order``."""
    match = BLOCK_KEY.match(name)
    if not match or match.group(1) not in plans:
        return name, None
    block, module, param = match.groups()
    plan = plans[block]
    source = f'{block}.{plan.renames.get(module, module)}.{param}'
    if plan.channel_order is None:
        return source, None
    if module == 'bn2' and like.dim() == 1:
        return source, 0
    return source, 1 if module == 'conv3' else None


def convert_backbone(
    weights: SourceWeights,
    template: Mapping[str, torch.Tensor],
    plans: Mapping[str, BlockPlan],
) -> Dict[str, torch.Tensor]:
    """Our backbone's tensors (``backbone.*``) from the authors'."""
    converted = {}
    for name, like in template.items():
        source_name, reorder_dim = source_of(name, like, plans)
        key = weights.key(source_name)
        tensor = fit_tensor(
            weights.take(key), like, key, f'backbone.{name}', weights.source
        )
        if reorder_dim is not None:
            order = plans[BLOCK_KEY.match(name).group(1)].channel_order
            tensor = tensor.index_select(reorder_dim, torch.tensor(order))
        converted[f'backbone.{name}'] = tensor
    return converted


def convert_classifier(
    weights: SourceWeights, num_classes: int, feat_dim: int
) -> Dict[str, torch.Tensor]:
    """``cls_head.fc_cls.*`` from ``new_fc`` (or ``base_model.fc``)."""
    for module in CLASSIFIERS:
        key = f'{weights.prefix}{module}'
        if f'{key}.weight' not in weights.tensors:
            continue
        shapes = {'weight': (num_classes, feat_dim), 'bias': (num_classes,)}
        converted = {}
        for param, shape in shapes.items():
            tensor = weights.take(f'{key}.{param}')
            if tuple(tensor.shape) != shape:
                raise OfficialCheckpointError(
                    f'{weights.source}: {key}.{param} has shape '
                    f'{tuple(tensor.shape)}; {num_classes} classes '
                    f'(--num-classes) need {shape}'
                )
            converted[f'{OUR_CLASSIFIER}.{param}'] = tensor.contiguous()
        return converted
    raise OfficialCheckpointError(
        f'{weights.source}: no classifier: neither {weights.prefix}new_fc.* '
        f'(dropout > 0) nor {weights.key("fc")}.* (dropout 0) is there'
    )


def convert_official_state_dict(
    state: Mapping[str, object],
    arch: str,
    num_classes: int = 174,
    source: str = 'checkpoint',
) -> Dict[str, torch.Tensor]:
    """Our recognizer's state dict from the authors' ``state_dict``.

    Args:
        state (Mapping[str, object]): The authors'
            ``checkpoint['state_dict']``.
        arch (str): One of :func:`official_arch_names`.
        num_classes (int): Classes of the classifier. Defaults to 174.
        source (str): The file, for error messages. Defaults to
            ``'checkpoint'``.

    Returns:
        dict[str, torch.Tensor]: ``backbone.*`` and ``cls_head.fc_cls.*``
        for mmaction2's ``Recognizer3D`` with ``CAKESResNet(op=arch_op(arch))`` and
        ``I3DHead``, loadable with ``strict=True``.

    Raises:
        OfficialCheckpointError: Naming the file and the block or key at
            fault: a supernet, another arch, a missing, misshapen or
            unused tensor.
    """
    names = official_arch_names()
    if arch not in names:
        raise OfficialCheckpointError(
            f'unknown arch {arch!r}; expected one of {", ".join(names)}'
        )
    weights = SourceWeights(state, source)
    template = backbone_template(arch)
    blocks = block_names(template)
    for block in blocks:
        check_not_supernet(weights, block)
    plans = {
        block: plan_block(template, block, arch in LAYERWISE_ARCHS)
        for block in blocks
    }
    check_fits(weights, plans, arch)
    converted = convert_backbone(weights, template, plans)
    feat_dim = template[f'{blocks[-1]}.bn3.weight'].shape[0]
    converted.update(convert_classifier(weights, num_classes, feat_dim))
    untaken = weights.untaken()
    if untaken:
        first, more = untaken[0], len(untaken) - 1
        raise OfficialCheckpointError(
            f'{source}: {first} (shape {tuple(weights.tensors[first].shape)})'
            f' has no place in {arch}'
            + (f' (nor have {more} more tensors)' if more else '')
        )
    return converted


def load_official_state_dict(path: str) -> Dict[str, object]:
    """The ``state_dict`` of an authors' checkpoint file, loaded safely.

    Args:
        path (str): The ``.pth``/``.tar`` file.

    Returns:
        dict[str, object]: Its state dict (a bare state dict is accepted).

    Raises:
        OfficialCheckpointError: When the file cannot be loaded with
            ``weights_only=True`` or holds no state dict.
    """
    if not osp.isfile(path):
        raise OfficialCheckpointError(f'{path}: no such file')
    with open(path, 'rb') as file:
        head = file.read(8)
    if not head.startswith(CHECKPOINT_MAGIC):
        raise OfficialCheckpointError(
            f'{path}: not a PyTorch checkpoint (it starts with {head!r}, '
            f'neither a zip archive nor a pickle)'
        )
    try:
        checkpoint = load_local_checkpoint(path, map_location='cpu')
    except UnsafeCheckpointError as error:
        raise OfficialCheckpointError(str(error)) from None
    except Exception as error:  # torch.load's errors vary with the bytes
        raise OfficialCheckpointError(
            f'{path}: not a PyTorch checkpoint (torch.load failed: '
            f'{type(error).__name__}: {error})'
        ) from None
    if isinstance(checkpoint, dict) and isinstance(
        checkpoint.get('state_dict'), dict
    ):
        return checkpoint['state_dict']
    if isinstance(checkpoint, dict) and any(
        torch.is_tensor(value) for value in checkpoint.values()
    ):
        return checkpoint
    raise OfficialCheckpointError(
        f"{path}: no state dict: expected a dict with a 'state_dict' "
        f'entry, got {type(checkpoint).__name__}'
        + (
            f' with keys {sorted(map(str, checkpoint))[:5]}'
            if isinstance(checkpoint, dict)
            else ''
        )
    )


def read_class_names(path: str) -> List[str]:
    """Class names, one a line, in the order of the annotation lists'
    labels, e.g. sthv1's ``something-something-v1-labels.csv``.

    Args:
        path (str): The labels file.

    Returns:
        list[str]: The names; label i is the i-th.
    """
    names = []
    for line in read_annotation(path, delimiter=';', allow_empty=False):
        line.expect_fields(['class name'])
        if line.fields[0] in names:
            raise line.error(f'class {line.fields[0]!r} is listed twice')
        names.append(line.fields[0])
    return names


def reorder_classes(
    state: Dict[str, torch.Tensor], class_names: Sequence[str], labels: str
) -> None:
    """Reorder the converted classifier from the authors' class order
    (sorted names, as TRN's lists number them) to ``class_names``', in
    place.

    Args:
        state (dict[str, torch.Tensor]): From
            :func:`convert_official_state_dict`.
        class_names (Sequence[str]): Names in the order of our labels.
        labels (str): Where the names came from, for error messages.
    """
    rows = state[f'{OUR_CLASSIFIER}.weight'].shape[0]
    if len(class_names) != rows:
        raise OfficialCheckpointError(
            f'{labels}: lists {len(class_names)} classes; the classifier '
            f'has {rows}'
        )
    rank = {name: row for row, name in enumerate(sorted(class_names))}
    order = torch.tensor([rank[name] for name in class_names])
    for param in ('weight', 'bias'):
        key = f'{OUR_CLASSIFIER}.{param}'
        state[key] = state[key].index_select(0, order)


def convert_official_checkpoint(
    src: str,
    dst: str,
    arch: str,
    num_classes: int = 174,
    labels: Optional[str] = None,
) -> int:
    """Convert an authors' checkpoint file into an mmengine checkpoint.

    Args:
        src (str): The authors' checkpoint.
        dst (str): Where to write ours (``state_dict`` and ``meta``),
            atomically.
        arch (str): One of :func:`official_arch_names`.
        num_classes (int): Classes of the classifier. Defaults to 174.
        labels (str, optional): The class names in the order of our
            annotation lists' labels (:func:`read_class_names`); None keeps
            the authors' order (sorted names). Defaults to None.

    Returns:
        int: The number of tensors written.
    """
    state = convert_official_state_dict(
        load_official_state_dict(src), arch, num_classes, source=src
    )
    if labels is not None:
        reorder_classes(state, read_class_names(labels), labels)
    meta = dict(
        converted_from=osp.basename(src),
        source_format='github.com/yucornetto/CAKES TemporalModel',
        backbone_arch=arch,
        num_classes=num_classes,
        class_order=(
            "sorted class names (the authors' lists)"
            if labels is None
            else f'line order of {osp.basename(labels)}'
        ),
    )
    buffer = io.BytesIO()
    torch.save(dict(state_dict=state, meta=meta), buffer)
    atomic_write(dst, buffer.getvalue())
    return len(state)
