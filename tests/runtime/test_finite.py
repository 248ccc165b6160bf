"""all_finite against numpy's own elementwise test, including the dot product's blind spots."""

from __future__ import annotations

import numpy as np
import pytest

from groot_sdk.finite import all_finite


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_all_finite_agrees_with_isfinite(dtype):
    rng = np.random.default_rng(0)
    for trial in range(300):
        x = rng.normal(0, 10.0 ** rng.integers(-3, 3), rng.integers(1, 60)).astype(dtype)
        if trial % 3:
            x[rng.integers(x.size)] = rng.choice([np.nan, np.inf, -np.inf])
        assert all_finite(x) == bool(np.isfinite(x).all()), x


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_huge_finite_values_overflowing_the_sum_are_still_finite():
    big = np.full(8, np.finfo(np.float64).max, np.float64)  # their sum overflows to inf
    assert all_finite(big)
    big[3] = np.nan
    assert not all_finite(big)


@pytest.mark.parametrize(
    "value, want",
    [
        ([0.0, 1.0], True),
        ([0.0, float("nan")], False),
        (np.zeros((2, 3)), True),
        (np.array([[1.0, np.inf]]), False),
        (np.arange(5), True),  # integers are always finite
        (np.array(np.nan), False),
    ],
)
def test_other_shapes_and_types_take_the_exact_path(value, want):
    assert all_finite(value) is want


def test_float32_extremes_raise_no_overflow_warning(recwarn):
    assert all_finite(np.full(64, np.finfo(np.float32).max, np.float32))
    assert not recwarn.list
