"""Statistics and the verdict of the base-policy protocol."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groot_sdk.rl.evaluate import EpisodeStats, Verdict, summarize, verdict, wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # published Wilson 95% bounds
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (95, 100, 0.8883, 0.9785),
        (1, 20, 0.0089, 0.2361),
    ],
)
def test_wilson_matches_reference_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-4)
    assert hi == pytest.approx(high, abs=5e-4)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_rate_and_stays_in_unit_interval(kn):
    k, n = kn
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_wilson_narrows_with_more_trials_and_widens_with_confidence():
    w10 = wilson_interval(5, 10)
    w1000 = wilson_interval(500, 1000)
    assert (w1000[1] - w1000[0]) < (w10[1] - w10[0])
    w99 = wilson_interval(50, 100, confidence=0.99)
    w95 = wilson_interval(50, 100)
    assert (w99[1] - w99[0]) > (w95[1] - w95[0])


@pytest.mark.parametrize(("k", "n"), [(1, 0), (-1, 5), (6, 5)])
def test_wilson_rejects_bad_counts(k, n):
    with pytest.raises(ValueError):
        wilson_interval(k, n)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (0.0, Verdict.DOMAIN_GAP),
        (0.049, Verdict.DOMAIN_GAP),
        (0.05, Verdict.MARGINAL),
        (0.12, Verdict.MARGINAL),
        (0.20, Verdict.MARGINAL),
        (0.21, Verdict.PROCEED),
        (1.0, Verdict.PROCEED),
    ],
)
def test_verdict_thresholds(rate, expected):
    assert verdict(rate) is expected


def test_verdict_texts():
    assert Verdict.DOMAIN_GAP.value == "domain gap too large"
    assert Verdict.MARGINAL.value == "marginal"
    assert Verdict.PROCEED.value == "proceed"
    with pytest.raises(ValueError):
        verdict(1.5)


def test_summarize():
    stats = [EpisodeStats(True, -3.0, 50, 0.01)] * 3 + [EpisodeStats(False, -50.0, 50, None)]
    res = summarize(stats)
    assert res.episodes == 4 and res.successes == 3
    assert res.success_rate == 0.75
    assert res.mean_distance == pytest.approx(0.01)  # episodes without a distance are left out
    assert res.mean_return == pytest.approx((-9 - 50) / 4)
    assert res.verdict is Verdict.PROCEED
    doc = res.to_json()
    assert doc["verdict"] == "proceed" and doc["ci_low"] < 0.75 < doc["ci_high"]
    assert "proceed" in res.summary() and "Wilson" in res.summary()
    assert math.isfinite(res.std_return)
    with pytest.raises(ValueError):
        summarize([])


def test_public_names_resolve_and_stay_out_of_core_import():
    import subprocess
    import sys

    from groot_sdk import rl

    for name in rl.__all__:
        assert getattr(rl, name) is not None, name
    code = "import groot_sdk, sys; print(any(m.startswith('groot_sdk.rl') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
