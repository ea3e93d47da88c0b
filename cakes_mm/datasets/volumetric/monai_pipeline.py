"""MONAI dictionary transforms built from config dicts, seeded by mmengine.

A config lists the transforms as dicts whose ``type`` names a class of
``monai.transforms``::

    pipeline = [dict(type='LoadImaged', keys=['image', 'label']),
                dict(type='EnsureChannelFirstd', keys=['image', 'label']),
                dict(type='RandFlipd', keys=['image', 'label'], prob=0.5,
                     spatial_axis=0)]

Randomness: every MONAI random transform draws from its own
``np.random.RandomState``, which mmengine's seeding never touches. So before
each sample, :func:`reseed` seeds the whole ``Compose`` with one number drawn
from numpy's global generator. That generator is the one mmengine seeds
(``randomness.seed``, and per DataLoader worker), and the one
``RandomStateHook`` saves in checkpoints, so augmentations are reproducible
under a seed and a run resumed with ``num_workers=0`` draws what the
uninterrupted run drew. A pipeline without random transforms draws nothing
from the global generator.
"""

from types import ModuleType
from typing import TYPE_CHECKING, Callable, Sequence, Union

import numpy as np

from ...extras import import_from_extra

if TYPE_CHECKING:
    from monai.transforms import Compose

TransformConfig = Union[dict, Callable]


def monai_transforms() -> ModuleType:
    """``monai.transforms``, imported when first needed; without MONAI, an
    error naming the ``volumetric`` extra."""
    return import_from_extra('monai.transforms', 'volumetric', 'MSDDataset')


def build_transform(config: TransformConfig) -> Callable:
    """Build one MONAI transform from its config dict.

    Args:
        config (dict | Callable): ``dict(type='RandFlipd', ...)``, where
            ``type`` is a name in ``monai.transforms`` or a class, or an
            already built transform (returned as is).

    Returns:
        Callable: The transform.
    """
    if not isinstance(config, dict):
        if not callable(config):
            raise TypeError(
                f'pipeline: {config!r} is neither a config dict '
                'nor a transform'
            )
        return config
    transforms = monai_transforms()
    kwargs = dict(config)
    kind = kwargs.pop('type', None)
    if isinstance(kind, str):
        if not hasattr(transforms, kind):
            raise ValueError(f'pipeline: monai.transforms has no {kind!r}')
        kind = getattr(transforms, kind)
    if not callable(kind):
        raise ValueError(
            f'pipeline: {config!r} needs a "type" naming a '
            'monai.transforms class'
        )
    return kind(**kwargs)


def build_pipeline(configs: Sequence[TransformConfig]) -> 'Compose':
    """Build a MONAI ``Compose`` from a list of transform configs.

    Args:
        configs (Sequence[dict | Callable]): See :func:`build_transform`.

    Returns:
        monai.transforms.Compose: The transforms in order. A transform that
        returns several samples (e.g. ``RandCropByPosNegLabeld`` with
        ``num_samples > 1``) has the later ones applied to each.
    """
    return monai_transforms().Compose([build_transform(c) for c in configs])


def is_random(pipeline: 'Compose') -> bool:
    """Whether any transform of ``pipeline`` is random.

    Args:
        pipeline (monai.transforms.Compose): The transforms.

    Returns:
        bool: True if one of them is ``Randomizable``.
    """
    from monai.transforms import Randomizable

    return any(
        isinstance(transform, Randomizable)
        for transform in pipeline.transforms
    )


def reseed(pipeline: 'Compose') -> None:
    """Seed ``pipeline``'s random transforms from numpy's global generator.

    Args:
        pipeline (monai.transforms.Compose): The transforms; each random one
            gets its own seed derived from the one number drawn.
    """
    from monai.utils import MAX_SEED

    pipeline.set_random_state(
        seed=int(np.random.randint(MAX_SEED, dtype=np.int64))
    )
