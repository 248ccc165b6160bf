"""Monotonic-deadline scheduling and loop-timing statistics."""

from __future__ import annotations

import time

import numpy as np


class DeadlineClock:
    """Ticks at ``rate_hz`` against absolute monotonic deadlines (no drift from sleep error).

    A tick that starts more than one period late counts as an overrun (its lateness is
    recorded as it was) and re-anchors the schedule instead of bursting to catch up.
    ``rate_hz <= 0`` runs as fast as possible.

    The wait sleeps to a little before the deadline and spins the rest. The margin follows
    the measured oversleep of recent sleeps, capped at ``spin_s``: on an idle machine a
    sleep overshoots by tens of microseconds and the short spin absorbs it; under CPU
    contention the overshoot is larger than ``spin_s`` and the clock just sleeps to the
    deadline, because spinning then only costs the loop its scheduler credit and makes it
    wake later (measured: a fixed 0.2 ms spin gave 3-5x the overruns of a plain sleep with
    two busy processes on two cores). One sleep that overshoots by more than ``spin_s``
    stops the spin for the next ``backoff`` ticks, so intermittent load does not flip it.
    """

    backoff = 50

    def __init__(self, rate_hz: float, spin_s: float = 0.0002) -> None:
        self.period = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self.spin_s = spin_s
        self._next: float | None = None
        self._last_start: float | None = None
        self._overshoot = spin_s / 2  #: smoothed oversleep of recent sleeps (seconds)
        self._calm = self.backoff  #: sleeps since one overshot by more than spin_s
        self.lateness: list[float] = []  #: seconds each tick started after its deadline
        self.periods: list[float] = []  #: seconds between consecutive tick starts
        self.starts: list[float] = []
        self.overruns = 0
        self.t0 = 0.0

    @property
    def margin(self) -> float:
        """How long before a deadline the next wait stops sleeping and spins."""
        over = self._overshoot
        if self._calm < self.backoff or over > self.spin_s:
            return 0.0
        return min(self.spin_s, 1.5 * over)

    def wait(self) -> float:
        """Sleep until the next deadline; return the tick's start time (monotonic)."""
        clock = time.perf_counter
        now = clock()
        if self._next is None:
            self._next = now
            self.t0 = now
        elif self.period > 0:
            deadline = self._next
            margin = self.margin
            remaining = deadline - now - margin
            if remaining > 0:
                time.sleep(remaining)
                woke = clock()
                over = max(woke - (deadline - margin), 0.0)
                self._overshoot += 0.1 * (over - self._overshoot)
                self._calm = 0 if over > self.spin_s else self._calm + 1
            while clock() < deadline:
                pass
            now = clock()
        late = now - self._next if self.period > 0 else 0.0
        late = max(late, 0.0)
        self.lateness.append(late)
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
