"""A recognizer as one module from clips to class scores, for export."""

import torch
import torch.nn as nn


class ClipScores(nn.Module):
    """A recognizer as one function: clips in, class scores out.

    Runs the backbone, the neck if any, the head and the head's
    ``average_clip`` with one view per clip, as mmdeploy's recognizer does:
    the scores are softmax probabilities for ``average_clips='prob'`` and
    logits for ``'score'`` or None.

    Args:
        recognizer (nn.Module): An mmaction2 recognizer with ``backbone``
            and ``cls_head``.
    """

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        self.backbone = recognizer.backbone
        self.neck = getattr(recognizer, 'neck', None)
        self.cls_head = recognizer.cls_head

    def logits(self, clips: torch.Tensor) -> torch.Tensor:
        """The head's scores before ``average_clip``: (batch, 3, T, H, W)
        -> (batch, num_classes)."""
        features = self.backbone(clips)
        if self.neck is not None:
            features, _ = self.neck(features)
        return self.cls_head(features)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(batch, 3, T, H, W) -> (batch, num_classes)."""
        scores = self.logits(clips)
        return self.cls_head.average_clip(scores, num_segs=1).flatten(1)
