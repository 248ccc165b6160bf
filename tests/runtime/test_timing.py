"""DeadlineClock on a scripted clock (no real sleeping, no timed assertions)."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import types

import pytest

from groot_sdk.deploy import linux_sched, timing
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


def test_one_late_tick_keeps_the_spin_but_three_in_a_window_stop_it(fake):
    """An idle VM starts about one tick in a thousand late (a host hiccup): that alone must
    not switch the spin off, or the idle tail comes back. Three in ``window`` ticks mean
    another process holds the CPU, and the spin stays off until the window has passed."""
    ft = fake(over=20e-6)
    clock = DeadlineClock(250.0, spin_s=0.0002)
    for _ in range(100):
        clock.wait()
    spin = clock.margin
    assert spin > 0

    def one_late_tick() -> None:
        ft.over = 1e-3  # one sleep wakes 1 ms late (another process took the CPU)
        clock.wait()
        ft.over = 20e-6
        clock.wait()

    one_late_tick()
    assert clock.margin == spin and not clock.contended
    one_late_tick()
    assert clock.margin > 0
    one_late_tick()
    assert clock.contended and clock.margin == 0.0
    for _ in range(clock.window - 10):
        clock.wait()
    assert clock.margin == 0.0  # the late ticks are still inside the window
    for _ in range(20):
        clock.wait()
    assert not clock.contended and clock.margin > 0
    assert max(clock.lateness[-5:]) < 1e-5


def test_the_spin_follows_the_oversleep_it_has_to_absorb(fake):
    ft = fake(over=10e-6)
    clock = DeadlineClock(250.0, spin_s=0.0002)
    for _ in range(100):
        clock.wait()
    assert clock.margin == pytest.approx(2 * 10e-6 + 20e-6, rel=0.05)  # a fast machine
    ft.over = 150e-6
    for _ in range(100):
        clock.wait()
    assert clock.margin == 0.0002  # capped at spin_s
    assert max(clock.lateness[-50:]) < 1e-5


def test_each_thread_that_waits_is_tuned_once(fake, monkeypatch):
    fake()
    calls = []
    me = threading.get_ident
    monkeypatch.setattr(timing, "tighten_timer_slack", lambda ns: calls.append(("slack", me(), ns)))
    monkeypatch.setattr(timing, "request_slice", lambda ns: calls.append(("slice", me(), ns)))
    clock = DeadlineClock(250.0)
    for _ in range(5):
        clock.wait()
    worker = threading.Thread(target=lambda: [clock.wait() for _ in range(5)])
    worker.start()
    worker.join(5)
    assert calls == [
        ("slack", me(), 1),
        ("slice", me(), 100_000),
        ("slack", worker.ident, 1),
        ("slice", worker.ident, 100_000),
    ]


def _in_a_fresh_thread(fn):
    got = {}

    def run() -> None:
        got.update(fn())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(5)
    return got


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timer slack is Linux's")
def test_tighten_timer_slack_sets_the_calling_threads_slack():
    """Read back through prctl(PR_GET_TIMERSLACK) in a fresh thread (no effect on the others)."""
    libc = ctypes.CDLL(None)
    libc.prctl(29, 50_000, 0, 0, 0)  # this thread back to the kernel's default
    got = _in_a_fresh_thread(
        lambda: {
            "before": libc.prctl(30, 0, 0, 0, 0),
            "ok": linux_sched.tighten_timer_slack(),
            "after": libc.prctl(30, 0, 0, 0, 0),
        }
    )
    assert got["ok"] and got["before"] == 50_000 and got["after"] == 1
    assert libc.prctl(30, 0, 0, 0, 0) == 50_000  # the calling thread only


def _slice_supported() -> bool:
    """Whether this kernel stores a fair thread's slice request (EEVDF, Linux >= 6.12)."""
    got = _in_a_fresh_thread(
        lambda: {"ok": linux_sched.request_slice(200_000), "slice": linux_sched.thread_slice_ns()}
    )
    return bool(got["ok"]) and got["slice"] == 200_000


@pytest.mark.skipif(not _slice_supported(), reason="the kernel keeps no slice request (< 6.12)")
def test_request_slice_sets_this_threads_slice_and_keeps_its_nice_value():
    """Read back through sched_getattr; the nice value a user gave the thread survives (a
    plain sched_setattr would reset it to 0) and other threads keep the default."""

    def run():
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, 5)
        ok = linux_sched.request_slice(100_000)
        return {
            "ok": ok,
            "slice": linux_sched.thread_slice_ns(),
            "nice": os.getpriority(os.PRIO_PROCESS, tid),
            "reset": linux_sched.request_slice(0) and linux_sched.thread_slice_ns(),
            # (the kernel reports the slice in effect: the default after a reset)
        }

    before = linux_sched.thread_slice_ns()
    got = _in_a_fresh_thread(run)
    assert got["ok"] and got["slice"] == 100_000 and got["nice"] == 5
    assert got["reset"] not in (0, 100_000)  # 0 asks for the default again
    assert linux_sched.thread_slice_ns() == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_FIFO is Linux's")
def test_request_slice_leaves_a_real_time_thread_alone():
    def run():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except PermissionError:
            return {"skip": True}
        try:
            return {"ok": linux_sched.request_slice(100_000), "policy": os.sched_getscheduler(0)}
        finally:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))

    got = _in_a_fresh_thread(run)
    if got.get("skip"):
        pytest.skip("no permission for SCHED_FIFO here")
    assert got == {"ok": False, "policy": os.SCHED_FIFO}


def test_a_clock_without_deadlines_leaves_the_thread_alone(fake, monkeypatch):
    fake()
    calls = []
    monkeypatch.setattr(timing, "tighten_timer_slack", calls.append)
    monkeypatch.setattr(timing, "request_slice", calls.append)
    clock = DeadlineClock(0)  # --rate 0: as fast as possible
    for _ in range(5):
        clock.wait()
    assert calls == []
