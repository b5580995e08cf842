"""Shared timing loop of the benchmarks: models alternate within each round so noise hits all alike."""
from __future__ import annotations

import time

import numpy as np


def alternate(runners: dict, repeats: int, warmup: int = 2) -> dict:
    """{name: callable} -> {name: [milliseconds]}, calling each runner once per round, in turn."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            t = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - t) * 1e3)
    return times


def quantiles(ms: list) -> tuple:
    """(p10, median, p90) of a list of times."""
    return tuple(np.percentile(ms, [10, 50, 90]))
