"""The input a config's model sees, read from the config alone.

Analysis tables and the search hooks count a model's cost at this shape,
so it lives apart from both.
"""

from typing import Optional, Tuple

from mmengine.config import Config

from .datasets.pipeline_steps import view_shape

#: The patch a volumetric config is counted at when it names none.
DEFAULT_PATCH = (96, 96, 96)


def network_in_channels(network: dict) -> int:
    """The ``in_channels`` of a network config, looked up through
    conversion wrappers (``CAKESConverted(model=...)``); 1 if none says.

    Args:
        network (dict): The network's config.

    Returns:
        int: Its input channels.
    """
    while 'in_channels' not in network and isinstance(
        network.get('model'), dict
    ):
        network = network['model']
    return network.get('in_channels', 1)


def volume_input_shape(cfg: Config) -> Optional[Tuple[int, ...]]:
    """The (1, C, D, H, W) input of a volumetric config, or None.

    A config is volumetric when its model (or the segmentor's ``network``)
    takes ``spatial_dims`` or its ``test_cfg`` has a ``roi_size``. C is the
    network's ``in_channels`` (looked up through conversion wrappers, 1
    where the config does not say), the patch
    the sliding window's ``roi_size``, else 96³.

    Args:
        cfg (Config): A full config.

    Returns:
        tuple[int, ...] | None: The shape, or None for other configs.
    """
    model = cfg.get('model') or {}
    network = model.get('network') or model
    roi = (model.get('test_cfg') or {}).get('roi_size')
    if roi is None and 'spatial_dims' not in network:
        return None
    roi = DEFAULT_PATCH if roi is None else roi
    roi = (roi,) * 3 if isinstance(roi, int) else tuple(roi)
    return (1, network_in_channels(network)) + roi


def default_input_shape(cfg: Config) -> Tuple[int, ...]:
    """The input a config's test pipeline produces, for one view.

    For a volumetric config, (1, C, D, H, W) (:func:`volume_input_shape`).
    Otherwise (1, 3, T, H, W) (:func:`~cakes_mm.datasets.pipeline_steps.
    view_shape`): T is the test sampler's ``clip_len`` and H = W the crop
    size; where the pipeline does not say, 8 frames of 224².

    Args:
        cfg (Config): A full config.

    Returns:
        tuple[int, ...]: The input shape.
    """
    volume = volume_input_shape(cfg)
    if volume is not None:
        return volume
    pipeline = (
        cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline', [])
    )
    return view_shape(pipeline, default=(8, 224))
