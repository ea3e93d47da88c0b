"""Our side of the converter's tests: the recognizer a converted checkpoint
is for, built from configs/_base_/models/cakes_r50.py, and its logits."""

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from tool_helpers import REPO

from cakes_mm.models.backbones.cakes_resnet import arch_op

MODEL_CONFIG = f'{REPO}/configs/_base_/models/cakes_r50.py'


def our_recognizer(arch: str) -> torch.nn.Module:
    """Recognizer3D + CAKESResNet-50(arch) + I3DHead, as configured."""
    model_cfg = Config.fromfile(MODEL_CONFIG).model
    model_cfg.backbone.op = arch_op(arch)
    return MODELS.build(model_cfg)


def our_logits(model: torch.nn.Module, clip: torch.Tensor) -> torch.Tensor:
    """Class logits for a (3, T, H, W) clip of 0-255 pixels, through the
    recognizer's data preprocessor, backbone and head, in eval mode."""
    model.eval()
    data = model.data_preprocessor(
        {'inputs': [clip[None]], 'data_samples': [ActionDataSample()]}, False
    )
    with torch.no_grad():
        logits, _ = model.extract_feat(data['inputs'], stage='head')
    return logits


def assert_same_scores(ours: torch.Tensor, reference: torch.Tensor) -> None:
    """Equal logits, to 1e-4 of the largest reference logit."""
    scale = reference.abs().max().item()
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-4 * scale)
