"""A cheap all-finite test for the per-tick command path."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_ONES: dict[int, np.ndarray] = {}


def all_finite(values: np.ndarray | Sequence[float]) -> bool:
    """``np.isfinite(values).all()`` for a 1-D float vector at about 60 % of the cost.

    The float64 sum (a dot product with ones) is finite unless an element is NaN or
    infinite, or float64 values near 1e308 overflow it; only then does the exact elementwise
    test run. Each control tick checks its setpoint at several layers, so it adds up.
    """
    values = np.asarray(values)
    if values.ndim == 1 and values.dtype in (np.float32, np.float64):
        ones = _ONES.get(values.size)
        if ones is None:
            ones = _ONES[values.size] = np.ones(values.size)
        if math.isfinite(np.dot(values, ones)):
            return True
    return bool(np.isfinite(values).all())
