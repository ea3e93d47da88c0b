"""Deploy checkpoints: a trained recognizer's weights in deploy form.

The file loads into the same config built with
``model.backbone.deploy=True``, as mmpretrain's re-parameterised models do.
"""

import io
from typing import Optional, Union

import torch
from mmengine.config import Config

from ..fileio import atomic_write
from .inference import init_recognizer


def write_deploy_checkpoint(
    config: Union[str, Config],
    checkpoint: str,
    out: str,
    cfg_options: Optional[dict] = None,
) -> str:
    """Load a trained checkpoint, switch the backbone to deploy form and
    write the result as an mmengine checkpoint.

    Args:
        config (str | Config): The config the checkpoint was trained with.
        checkpoint (str): The trained weights.
        out (str): Where to write the deploy checkpoint (atomically).
        cfg_options (dict, optional): Config overrides. Defaults to None.

    Returns:
        str: The backbone's class name.

    Raises:
        ValueError: When the backbone has no deploy form.
    """
    model = init_recognizer(config, checkpoint, 'cpu', cfg_options)
    backbone = model.backbone
    if not callable(getattr(backbone, 'switch_to_deploy', None)):
        raise ValueError(f'{type(backbone).__name__} has no deploy form')
    backbone.switch_to_deploy()
    buffer = io.BytesIO()
    torch.save(
        {
            'state_dict': model.state_dict(),
            'meta': {'deploy': True, 'source': checkpoint},
        },
        buffer,
    )
    atomic_write(out, buffer.getvalue())
    return type(backbone).__name__
