"""Interleaved repetitions, shared by the benchmark scripts."""

import time
from typing import List


def time_interleaved(entries: List[dict], repeat: int, label: str) -> None:
    """Time every entry's runs once per repetition, in turn.

    Each repetition runs every callable of ``entry['runs']`` once, entry
    after entry, so that a change in the machine's load falls on all of
    them alike; each time is appended to ``entry['times'][key]``.

    Args:
        entries (list[dict]): Each with ``runs`` ({key: callable}) and
            ``times`` ({key: list of seconds}).
        repeat (int): Repetitions.
        label (str): Printed before each repetition's progress line.
    """
    for r in range(repeat):
        for entry in entries:
            for key, run in entry['runs'].items():
                start = time.perf_counter()
                run()
                entry['times'][key].append(time.perf_counter() - start)
        print(f'{label}repetition {r + 1}/{repeat}', flush=True)
