"""A network exported to ONNX and run in onnxruntime, as timed calls:
shared by the benchmark scripts."""

from typing import Callable, Dict

import torch
import torch.nn as nn


def onnxruntime_runs(
    module: nn.Module, inputs: Dict[str, torch.Tensor], threads: int
) -> Dict[str, Callable[[], None]]:
    """Export ``module`` once and return, for each input, a call that runs
    the file on it in onnxruntime (CPU).

    The module is traced on the first input (the batch stays dynamic) by
    :func:`cakes_mm.deployment.onnx_bytes`, as the export tool traces it.
    Each input gets a session of its own, with ``threads`` intra-op threads
    that do not spin between calls (the calls take turns with other work).
    The first keeps onnxruntime's defaults; the others shrink their memory
    arena after each call: many sessions each keeping an arena sized for a
    large batch (a few GB for I3D at batch 8) outgrow a 24 GB machine.

    Args:
        module (nn.Module): The network, in eval mode, in the form to
            export (deploy forms switched).
        inputs (dict[str, torch.Tensor]): Inputs by run name, e.g. the
            batch-1 input under ``'infer'``; any memory layout.
        threads (int): Intra-op threads.

    Returns:
        dict[str, callable]: One call per input, by the same names.
    """
    import onnxruntime

    from cakes_mm.deployment import INPUT_NAME, onnx_bytes, onnx_session

    first = next(iter(inputs.values()))
    model = onnx_bytes(module, first.contiguous())
    shrink = onnxruntime.RunOptions()
    shrink.add_run_config_entry(
        'memory.enable_memory_arena_shrinkage', 'cpu:0'
    )
    runs = {}
    for i, (name, x) in enumerate(inputs.items()):
        session = onnx_session(model, threads, spin=False)
        feed = {INPUT_NAME: x.contiguous().numpy()}
        options = None if i == 0 else shrink
        runs[name] = lambda s=session, f=feed, o=options: s.run(None, f, o)
    return runs
