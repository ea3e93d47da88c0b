"""Interleaved repetitions, and the process settings a table states, shared
by the benchmark scripts."""

import contextlib
import os
import time
from typing import ContextManager, List

import torch

#: Environment variables that change how the C library allocates memory.
ALLOCATOR_VARIABLES = ('GLIBC_TUNABLES', 'LD_PRELOAD')


def allocator_setting() -> str:
    """The process's C allocator setting, as a table header states it.

    By default glibc's ``malloc`` returns every large freed block to the
    kernel, so a training step that reallocates its activations touches
    fresh pages each time; ``GLIBC_TUNABLES`` (or a preloaded jemalloc or
    tcmalloc) can keep them instead (docs/benchmarks.md).

    Returns:
        str: ``'default malloc'``, or each allocator variable that is set,
        as ``NAME=value``.
    """
    named = [
        f'{name}={os.environ[name]}'
        for name in ALLOCATOR_VARIABLES
        if os.environ.get(name)
    ]
    return ', '.join(named) or 'default malloc'


def precision(device: str, bf16: bool) -> ContextManager:
    """The context a row's forward pass runs in: bf16 autocast, as
    mixed-precision training and inference run (weights stay float32), or
    nothing (float32).

    On a CPU with AMX (Intel Xeon from Sapphire Rapids on) oneDNN computes
    bf16 convs in its matrix units, several times as fast as float32, so
    there bf16 is a network's fastest CPU setting.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
        bf16 (bool): Whether to autocast to bf16.

    Returns:
        ContextManager: The context, entered anew for each call.
    """
    if bf16:
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def compile_settings() -> None:
    """Set Inductor and Dynamo for a benchmark's compiled rows: freezing
    (weights as constants, folded and prepacked), and room for every row's
    graphs. Dynamo keeps its compiled graphs per Python function, and every
    network of a family runs the same ``forward``, so the default limit of
    8 would send the later rows back to eager."""
    import torch._dynamo.config as dynamo
    import torch._inductor.config as inductor

    inductor.freezing = True
    dynamo.recompile_limit = dynamo.accumulated_recompile_limit = 1024


def time_interleaved(entries: List[dict], repeat: int, label: str) -> None:
    """Time every entry's runs, one kind of run at a time, interleaved.

    The kinds of run (``infer``, ``batch``, ``train``...) are timed in
    phases, in the order they first appear: a phase runs one untimed round,
    then ``repeat`` timed rounds, and each round runs every entry's callable
    of that kind once, entry after entry, so that a change in the machine's
    load falls on all of them alike. A batch-1 call is thus timed after
    other batch-1 calls, as a process that serves single clips runs it,
    not after another model's batch or training step has left the
    allocator and the caches in another state. Each time is appended to
    ``entry['times'][key]``.

    Args:
        entries (list[dict]): Each with ``runs`` ({key: callable}) and
            ``times`` ({key: list of seconds}).
        repeat (int): Timed rounds per phase.
        label (str): Printed before each round's progress line.
    """
    keys = list(dict.fromkeys(k for e in entries for k in e['runs']))
    for key in keys:
        timed = [e for e in entries if key in e['runs']]
        for entry in timed:
            entry['runs'][key]()  # the phase's warm-up round
        for r in range(repeat):
            for entry in timed:
                start = time.perf_counter()
                entry['runs'][key]()
                entry['times'][key].append(time.perf_counter() - start)
            print(f'{label}{key}: round {r + 1}/{repeat}', flush=True)
