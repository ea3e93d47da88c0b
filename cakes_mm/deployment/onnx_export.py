"""Export a recognizer to ONNX, and check the file in onnxruntime.

The exported graph maps a batch of clips to class scores:

* input ``input``: float32 (batch, 3, T, H, W), the clips after the
  config's ``data_preprocessor`` (mean/std normalised, NCTHW), batch
  dynamic;
* output ``output``: float32 (batch, num_classes), the head's scores after
  its ``average_clips`` for one view per clip, as mmdeploy's recognizer
  returns them: softmax probabilities for ``'prob'`` (every config here),
  logits for ``'score'`` or None. Several views of one video are averaged
  by the caller, as the config's ``average_clips`` says.

The backbone is exported in deploy form (:mod:`cakes_mm.models.backbones.cakes_resnet_deploy`) by
default. The TorchScript exporter (``dynamo=False``) is used: it is much
faster than torch 2.13's default dynamo exporter on a deploy-form CAKES
ResNet-50 (times in docs/onnx.md), needs no onnxscript, and onnxruntime
matches PyTorch as closely with either.
"""

import io
import warnings
from typing import List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn

from ..fileio import atomic_write
from .clip_scores import ClipScores
from .traceable_blocks import held_block_kernels

INPUT_NAME = 'input'
OUTPUT_NAME = 'output'
#: The logits, an output of the checked copy of a file only.
LOGITS_NAME = 'logits'
#: ONNX opset: supported by onnxruntime, TensorRT and OpenVINO alike.
OPSET = 17
#: Largest allowed max|onnxruntime - PyTorch| / max|PyTorch| of the logits
#: and of the scores.
RTOL = 1e-4


class ExportError(ValueError):
    """A model that cannot be exported, or whose export does not match."""


def onnx_bytes(module: nn.Module, example: torch.Tensor) -> bytes:
    """Export a one-input module to ONNX with a dynamic batch dimension.

    Deploy-form CAKES convs trace their shifted adds out of place
    (:class:`~cakes_mm.models.backbones.cakes_resnet_deploy.ShapeGroup`),
    CAKES convs' fused blocks with their kernels as constants
    (:mod:`cakes_mm.deployment.traceable_blocks`), and every tensor's shape
    is written into the file (:func:`with_symbolic_shapes`).

    Args:
        module (nn.Module): The module, in eval mode; its output's first
            dimension must be the batch.
        example (torch.Tensor): An input to trace with.

    Returns:
        bytes: The ONNX model (input ``input``, output ``output``).
    """
    buffer = io.BytesIO()
    with (
        warnings.catch_warnings(),
        torch.no_grad(),
        held_block_kernels(module),
    ):
        warnings.filterwarnings(
            'ignore',
            category=DeprecationWarning,
            message='You are using the legacy TorchScript-based ONNX export',
        )
        # The deploy form fixes the sizes after the batch as constants
        # (``fixed_sizes``); the batch stays dynamic.
        warnings.filterwarnings(
            'ignore',
            category=torch.jit.TracerWarning,
            message='Converting a tensor to a Python integer',
        )
        # Strided slices stay Slice nodes instead of being folded into
        # constants; the graph is the same either way.
        warnings.filterwarnings(
            'ignore',
            category=UserWarning,
            message='Constant folding - Only steps=1 can be constant folded',
        )
        torch.onnx.export(
            module,
            (example,),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: 'batch'}, OUTPUT_NAME: {0: 'batch'}},
        )
    return with_symbolic_shapes(buffer.getvalue())


def with_symbolic_shapes(model: bytes) -> bytes:
    """``model`` with the shape of every tensor written in, sizes that
    follow from the batch as expressions of it (``8*batch``), by
    onnxruntime's symbolic shape inference.

    ONNX's own inference leaves the batch of a reshape's output (the deploy
    form's clips → frames) unknown, and every tensor after it then has a
    size onnxruntime cannot compare. It then cannot prove that a residual
    conv's summed input and output are the same size, so it copies instead
    of summing in place, and a deploy-form C2D ran slower than the same
    convs in TSN's graph; with the shapes written in it runs as fast
    (timings in docs/onnx.md).

    Args:
        model (bytes): An ONNX model.

    Returns:
        bytes: The same graph, with shapes; ``model`` itself, with a
        warning, where the inference fails.
    """
    try:
        import onnx
        from onnxruntime.tools.symbolic_shape_infer import (
            SymbolicShapeInference,
        )
    except ImportError:
        raise ExportError(
            'ONNX export needs onnx and onnxruntime; install the deploy '
            'extra: pip install "cakes_mm[deploy]"'
        ) from None
    try:
        inferred = SymbolicShapeInference.infer_shapes(
            onnx.load_from_string(model), auto_merge=True
        )
    except Exception as error:  # the graph is right without the shapes
        warnings.warn(
            f'ONNX shapes not written in ({type(error).__name__}: {error}); '
            'onnxruntime may run the file slower'
        )
        return model
    return inferred.SerializeToString()


def onnx_session(
    model: bytes, threads: Optional[int] = None, spin: bool = True
):
    """An onnxruntime CPU session of an ONNX model.

    Args:
        model (bytes): The ONNX model.
        threads (int, optional): Intra-op threads (inter-op: 1). Defaults
            to None: onnxruntime's choice.
        spin (bool): Let idle intra-op threads spin for the next call.
            Turn it off when the session takes turns with other work (a
            benchmark), which spinning threads would slow down. Defaults to
            True (onnxruntime's default).

    Returns:
        onnxruntime.InferenceSession: The session.
    """
    try:
        import onnxruntime
    except ImportError:
        raise ExportError(
            'onnxruntime is not installed; install the deploy '
            'extra: pip install "cakes_mm[deploy]"'
        ) from None
    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if not spin:
        options.add_session_config_entry(
            'session.intra_op.allow_spinning', '0'
        )
    return onnxruntime.InferenceSession(
        model, options, providers=['CPUExecutionProvider']
    )


def expose_logits(model: bytes) -> bytes:
    """A copy of an exported model with the logits as a second output.

    Softmax probabilities saturate (many are 0 or 1 in float32 on a real
    clip), so they can match while the network's scores do not: the check
    compares the logits, the input of the graph's last Softmax (the output
    itself when the scores are logits).

    Args:
        model (bytes): An ONNX model from :func:`onnx_bytes`.

    Returns:
        bytes: The model with an extra output ``logits``.
    """
    import onnx

    proto = onnx.load_from_string(model)
    softmaxes = [n for n in proto.graph.node if n.op_type == 'Softmax']
    source = softmaxes[-1].input[0] if softmaxes else OUTPUT_NAME
    proto.graph.node.append(
        onnx.helper.make_node('Identity', [source], [LOGITS_NAME])
    )
    proto.graph.output.append(
        onnx.helper.make_tensor_value_info(
            LOGITS_NAME, onnx.TensorProto.FLOAT, None
        )
    )
    return proto.SerializeToString()


def relative_difference(got: torch.Tensor, want: torch.Tensor) -> float:
    """max|got - want| / max|want| (0 when both are all zero)."""
    scale = want.abs().max().item()
    gap = (got - want).abs().max().item()
    return gap / scale if scale else gap


def compare(name: str, got, want: torch.Tensor, clips, rtol: float) -> float:
    """The relative difference of one output; an error past ``rtol``.

    Args:
        name (str): The output, for the message.
        got (numpy.ndarray): onnxruntime's output.
        want (torch.Tensor): PyTorch's, (batch, num_classes).
        clips (torch.Tensor): The input, for the message.
        rtol (float): Largest allowed :func:`relative_difference`.

    Returns:
        float: The relative difference.

    Raises:
        ExportError: When the shapes or values differ.
    """
    got = torch.from_numpy(got)
    if got.numel() != want.numel():
        raise ExportError(
            f'onnxruntime gave {name} of shape {tuple(got.shape)} '
            f'for input {tuple(clips.shape)}, PyTorch '
            f'{tuple(want.shape)}'
        )
    difference = relative_difference(got.reshape(want.shape), want)
    if not difference <= rtol:  # also catches NaN
        raise ExportError(
            f'onnxruntime and PyTorch {name} differ by {difference:.2e} '
            f'(relative) for input {tuple(clips.shape)}, more than '
            f'{rtol:.0e}; the file was not written'
        )
    return difference


def check_onnx(
    module: ClipScores,
    model: bytes,
    inputs: Sequence[torch.Tensor],
    rtol: float = RTOL,
) -> float:
    """Run each input in onnxruntime and in PyTorch; the logits and the
    scores must match (see :func:`expose_logits`).

    Args:
        module (ClipScores): The exported module.
        model (bytes): The exported ONNX model.
        inputs (Sequence[torch.Tensor]): Inputs, e.g. of different batch
            sizes.
        rtol (float): Largest allowed :func:`relative_difference`. Defaults
            to ``RTOL`` (1e-4).

    Returns:
        float: The largest relative difference of the logits.

    Raises:
        ExportError: When an output's shape or values differ.
    """
    session = onnx_session(expose_logits(model))
    worst = 0.0
    for clips in inputs:
        with torch.no_grad():
            logits, scores = module.logits(clips), module(clips)
        got_scores, got_logits = session.run(
            [OUTPUT_NAME, LOGITS_NAME], {INPUT_NAME: clips.numpy()}
        )
        compare('scores', got_scores, scores, clips, rtol)
        difference = compare('logits', got_logits, logits, clips, rtol)
        worst = max(worst, difference)
    return worst


class ExportReport(NamedTuple):
    """What :func:`export_recognizer` wrote and checked.

    Attributes:
        path (str): The ONNX file.
        deploy (bool): Whether the backbone was in deploy form.
        input_shape (tuple): The traced input's shape.
        num_classes (int): Scores per clip.
        batch_sizes (list[int]): Batch sizes checked in onnxruntime.
        difference (float): Largest relative difference of the logits to
            PyTorch's.
    """

    path: str
    deploy: bool
    input_shape: tuple
    num_classes: int
    batch_sizes: List[int]
    difference: float


def switch_backbone_to_deploy(recognizer: nn.Module) -> None:
    """Put the recognizer's backbone in deploy form, or explain why not."""
    backbone = recognizer.backbone
    name = type(backbone).__name__
    if not callable(getattr(backbone, 'switch_to_deploy', None)):
        raise ExportError(
            f'{name} has no deploy form; export it in eval '
            f'mode instead (deploy=False, --no-deploy)'
        )
    try:
        backbone.switch_to_deploy()
    except ValueError as error:
        raise ExportError(
            f'{name} has no deploy form: {error}; export it '
            f'in eval mode instead (deploy=False, '
            f'--no-deploy)'
        ) from None


def export_recognizer(
    recognizer: nn.Module,
    path: str,
    shape: Sequence[int] = (1, 3, 8, 224, 224),
    deploy: bool = True,
    rtol: float = RTOL,
    seed: int = 0,
) -> ExportReport:
    """Export a trained recognizer to an ONNX file, checked in onnxruntime.

    The model is traced on a random clip batch of ``shape``, then run in
    onnxruntime at that batch size and at one more (the batch dimension is
    dynamic) against PyTorch. The file is written (atomically) only when
    every output matches within ``rtol``.

    Args:
        recognizer (nn.Module): The recognizer, e.g. from
            :func:`cakes_mm.apis.init_recognizer`. With ``deploy`` its
            backbone is switched to deploy form in place.
        path (str): The ONNX file to write.
        shape (Sequence[int]): Input shape (batch, 3, T, H, W). Defaults to
            ``(1, 3, 8, 224, 224)``.
        deploy (bool): Export the backbone in deploy form. Defaults to True.
        rtol (float): See :func:`check_onnx`. Defaults to 1e-4.
        seed (int): Seed of the random check clips. Defaults to 0.

    Returns:
        ExportReport: What was written and checked.

    Raises:
        ExportError: When the backbone has no deploy form, or onnxruntime
            and PyTorch disagree.
    """
    shape = tuple(int(size) for size in shape)
    if len(shape) != 5 or min(shape) < 1:
        raise ExportError(
            f'shape must be 5 positive sizes (batch, 3, T, H, W), got {shape}'
        )
    recognizer.cpu().eval()
    if deploy:
        switch_backbone_to_deploy(recognizer)
    module = ClipScores(recognizer).eval()
    generator = torch.Generator().manual_seed(seed)
    batch_sizes = [shape[0], shape[0] + 1]
    inputs = [
        torch.randn((size,) + shape[1:], generator=generator)
        for size in batch_sizes
    ]
    model = onnx_bytes(module, inputs[0])
    difference = check_onnx(module, model, inputs, rtol)
    atomic_write(path, model)
    return ExportReport(
        path,
        deploy,
        shape,
        recognizer.cls_head.num_classes,
        batch_sizes,
        difference,
    )
