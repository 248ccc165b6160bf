"""Shared by the benchmark scripts (each runs as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def interleaved(
    timers: dict[str, Callable[[], object]], calls: int, warmup: int = 1, block: int = 10
) -> dict[str, list[float]]:
    """Time every row in turns of ``block`` calls (ms), so background load hits all rows alike."""
    for fn in timers.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(max(1, calls // block)):
        for name, fn in timers.items():
            for _ in range(block):
                start = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - start) * 1e3)
    return samples
