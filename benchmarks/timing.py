"""Shared timing helpers of the benchmarks: the alternating loop lives in ``bidrn_tf.benchmark``."""
from __future__ import annotations

import numpy as np

from bidrn_tf.benchmark import alternate  # noqa: F401  (models alternate within each round)


def quantiles(ms: list) -> tuple:
    """(p10, median, p90) of a list of times."""
    return tuple(np.percentile(ms, [10, 50, 90]))
