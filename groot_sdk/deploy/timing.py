"""Monotonic-deadline scheduling and loop-timing statistics."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from groot_sdk.deploy.linux_sched import request_slice, tighten_timer_slack


class DeadlineClock:
    """Ticks at ``rate_hz`` against absolute monotonic deadlines (no drift from sleep error).

    A tick that starts more than one period late counts as an overrun (its lateness is
    recorded as it was) and re-anchors the schedule instead of bursting to catch up.
    ``rate_hz <= 0`` runs as fast as possible.

    The wait sleeps to a little before the deadline and spins the rest. The margin is twice
    the 95th percentile of recent oversleeps plus 20 us, capped at ``spin_s``: on an idle
    machine the short spin absorbs the oversleep. Under CPU contention spinning only costs
    the loop its scheduler credit, so it wakes later (measured: a fixed 0.2 ms spin gave
    1.5-2x the > 5 ms periods of a plain sleep with two busy processes on two cores). So
    while at least ``contended_ticks`` of the last ``window`` ticks started more than
    ``late_s`` late (a sign that other work holds the CPU; an idle machine does that about
    once in a thousand ticks), the clock sleeps to the deadline and does not spin.

    The thread that waits gets a timer slack of ``timer_slack_ns`` and asks the scheduler
    for ``slice_ns`` slices (:mod:`groot_sdk.deploy.linux_sched`; None leaves either alone):
    with those a busy machine delays it far less (see ``benchmarks/bench_clock.py``).
    """

    window = 200
    contended_ticks = 3
    late_s = 0.0005
    timer_slack_ns: int | None = 1
    slice_ns: int | None = 100_000

    def __init__(self, rate_hz: float, spin_s: float = 0.0002) -> None:
        self.period = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self.spin_s = spin_s
        self._next: float | None = None
        self._last_start: float | None = None
        self._oversleeps = [spin_s / 2] * 64  #: ring of recent oversleeps (seconds)
        self._sleeps = 0
        self._spin = spin_s  #: margin while the machine is calm
        self._late_ticks: deque[int] = deque()  #: tick numbers that started > late_s late
        self._thread: int | None = None
        self.lateness: list[float] = []  #: seconds each tick started after its deadline
        self.periods: list[float] = []  #: seconds between consecutive tick starts
        self.starts: list[float] = []
        self.overruns = 0
        self.t0 = 0.0

    @property
    def contended(self) -> bool:
        """Whether recent ticks say another process competes for the CPU."""
        return len(self._late_ticks) >= self.contended_ticks

    @property
    def margin(self) -> float:
        """How long before a deadline the next wait stops sleeping and spins."""
        return 0.0 if self.contended else self._spin

    def _note_oversleep(self, over: float) -> None:
        ring = self._oversleeps
        ring[self._sleeps % len(ring)] = over
        self._sleeps += 1
        if self._sleeps % 16 == 0:
            p95 = sorted(ring)[int(0.95 * len(ring))]
            self._spin = min(self.spin_s, 2.0 * p95 + 20e-6)

    def _tune_thread(self) -> None:
        if self.timer_slack_ns is not None:
            tighten_timer_slack(self.timer_slack_ns)
        if self.slice_ns is not None:
            request_slice(self.slice_ns)

    def wait(self) -> float:
        """Sleep until the next deadline; return the tick's start time (monotonic)."""
        if self._thread != threading.get_ident() and self.period > 0:  # no deadline: no need
            self._thread = threading.get_ident()
            self._tune_thread()
        clock = time.perf_counter
        now = clock()
        tick = len(self.lateness)
        late_ticks = self._late_ticks
        while late_ticks and late_ticks[0] <= tick - self.window:
            late_ticks.popleft()
        if self._next is None:
            self._next = now
            self.t0 = now
        elif self.period > 0:
            deadline = self._next
            margin = self.margin
            remaining = deadline - now - margin
            if remaining > 0:
                time.sleep(remaining)
                self._note_oversleep(max(clock() - (deadline - margin), 0.0))
            while clock() < deadline:
                pass
            now = clock()
        late = now - self._next if self.period > 0 else 0.0
        late = max(late, 0.0)
        self.lateness.append(late)
        if late > self.late_s:
            late_ticks.append(tick)
        if self.period > 0 and late > self.period:
            self.overruns += 1
            self._next = now  # re-anchor: skip the missed deadlines
        if self._last_start is not None:
            self.periods.append(now - self._last_start)
        self.starts.append(now)
        self._last_start = now
        self._next = (self._next if self.period > 0 else now) + self.period
        return now

    def stats(self) -> dict[str, float]:
        late = np.asarray(self.lateness) * 1e3
        per = np.asarray(self.periods) * 1e3
        elapsed = float(per.sum()) / 1e3  # excludes pauses between episodes
        return {
            "ticks": len(self.starts),
            "loop_hz": per.size / elapsed if elapsed > 0 else 0.0,
            "jitter_ms_p50": float(np.percentile(late, 50)) if late.size else 0.0,
            "jitter_ms_p99": float(np.percentile(late, 99)) if late.size else 0.0,
            "jitter_ms_max": float(late.max()) if late.size else 0.0,
            "period_ms_p50": float(np.percentile(per, 50)) if per.size else 0.0,
            "period_ms_p99": float(np.percentile(per, 99)) if per.size else 0.0,
            "period_ms_max": float(per.max()) if per.size else 0.0,
            "overruns": self.overruns,
        }

    def reanchor(self, skip_tick: bool = False) -> None:
        """Start a fresh schedule after a pause (an episode reset, a first inference):
        the next tick starts now, or one period from now with ``skip_tick``."""
        self._next = time.perf_counter() + self.period if skip_tick else None
        self._last_start = None
