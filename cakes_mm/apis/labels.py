"""The best labels of one video file or frame folder, with their names.

``tools/demo/recognize.py`` prints what :func:`recognize` and
:func:`top_labels` give.
"""

import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch

from ..datasets import BadInputError
from .inference import inference_recognizer, init_recognizer

#: Labels shown per input.
TOP_K = 5


def read_label_map(path: str) -> List[str]:
    """Class names, one per non-empty line of ``path``, in label order.

    Args:
        path (str): The label map.

    Returns:
        list[str]: The names.

    Raises:
        FileNotFoundError: When there is no such file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'label map not found: {path}')
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def recognize(
    video: str,
    config: str,
    checkpoint: str,
    device: str = 'cpu',
    cfg_options: Optional[dict] = None,
    filename_tmpl: Optional[str] = None,
) -> torch.Tensor:
    """Class scores of one video file or frame folder.

    Args:
        video (str): The video file or folder of frames.
        config (str): The model config.
        checkpoint (str): Weights for the config's model.
        device (str): Torch device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        filename_tmpl (str, optional): Frame file names of a folder.
            Defaults to None: detected.

    Returns:
        torch.Tensor: (num_classes, ) scores, averaged over the views as the
        config's head says (``average_clips='prob'``: probabilities).
    """
    if not osp.exists(video):  # before the model is built
        raise FileNotFoundError(f'video not found: {video}')
    model = init_recognizer(config, checkpoint, device, cfg_options)
    sample = inference_recognizer(model, video, filename_tmpl=filename_tmpl)
    return sample.pred_score.cpu()


def top_labels(
    scores: torch.Tensor,
    names: Optional[Sequence[str]] = None,
    label_map: str = 'the label map',
) -> List[Tuple[str, float]]:
    """The ``TOP_K`` best (name, score) pairs, best first.

    Args:
        scores (torch.Tensor): (num_classes, ) scores.
        names (Sequence[str], optional): Class names in label order.
            Defaults to None: the labels' numbers.
        label_map (str): Where the names come from, for the error.
            Defaults to ``'the label map'``.

    Returns:
        list[tuple[str, float]]: The pairs.

    Raises:
        BadInputError: When there are fewer names than classes.
    """
    if names is None:
        names = [str(label) for label in range(len(scores))]
    elif len(names) < len(scores):
        raise BadInputError(
            f'{label_map} names {len(names)} classes but the model has '
            f'{len(scores)}'
        )
    values, labels = scores.topk(min(TOP_K, len(scores)))
    return [
        (names[label], float(value)) for value, label in zip(values, labels)
    ]
