"""DeadlineClock on a scripted clock (no real sleeping, no timed assertions)."""

from __future__ import annotations

import types

import pytest

from groot_sdk.deploy import timing
from groot_sdk.deploy.timing import DeadlineClock


class FakeTime:
    """perf_counter/sleep on a scripted timeline: each sleep oversleeps by ``over`` s."""

    def __init__(self, over: float = 0.0) -> None:
        self.now, self.over, self.sleeps = 0.0, over, []

    def perf_counter(self) -> float:
        self.now += 1e-7  # reading the clock takes a little time, so spins end
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s + self.over


@pytest.fixture
def fake(monkeypatch):
    def make(over=0.0):
        ft = FakeTime(over)
        monkeypatch.setattr(
            timing, "time", types.SimpleNamespace(perf_counter=ft.perf_counter, sleep=ft.sleep)
        )
        return ft

    return make


def test_an_overrun_tick_reports_its_real_lateness(fake):
    ft = fake()
    clock = DeadlineClock(100.0)  # 10 ms period
    clock.wait()
    ft.now += 0.035  # the loop body took 35 ms: the tick due at 10 ms starts ~25 ms late
    clock.wait()
    assert clock.overruns == 1
    assert clock.lateness[-1] == pytest.approx(0.025, abs=1e-4)
    stats = clock.stats()
    assert stats["jitter_ms_max"] == pytest.approx(25.0, abs=0.1)  # not hidden as 0
    clock.wait()  # re-anchored at the late start: the next tick is on time again
    assert clock.overruns == 1 and clock.lateness[-1] < 1e-4


def test_idle_sleeps_leave_a_short_spin_that_absorbs_the_oversleep(fake):
    fake(over=50e-6)
    clock = DeadlineClock(250.0, spin_s=0.0002)
    for _ in range(200):
        clock.wait()
    assert 0 < clock.margin <= 0.0002
    assert max(clock.lateness[100:]) < 1e-5  # the spin ends each wait at the deadline


def test_under_contention_the_clock_stops_spinning_and_sleeps_to_the_deadline(fake):
    ft = fake(over=1e-3)  # every sleep wakes 1 ms late: a busy machine
    clock = DeadlineClock(250.0, spin_s=0.0002)
    for _ in range(100):
        clock.wait()
    assert clock.margin == 0.0
    period = clock.period
    # the last sleeps aim at the deadline itself: sleep + the tick's own time = one period
    assert ft.sleeps[-1] == pytest.approx(period - 1e-3, abs=5e-5)
    assert clock.overruns == 0


def test_one_long_oversleep_stops_the_spin_for_a_while(fake):
    ft = fake(over=20e-6)
    clock = DeadlineClock(250.0, spin_s=0.0002)
    for _ in range(100):
        clock.wait()
    assert clock.margin > 0
    ft.over = 1e-3  # one sleep wakes 1 ms late (another process took the CPU)
    clock.wait()
    ft.over = 20e-6
    clock.wait()
    assert clock.margin == 0.0  # backs off although the smoothed oversleep is small again
    for _ in range(clock.backoff):
        clock.wait()
    assert clock.margin > 0
