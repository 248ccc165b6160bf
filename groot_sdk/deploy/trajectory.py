"""The action-chunk queue: a time-stamped setpoint trajectory that new chunks merge into."""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from groot_sdk.policy.actions import interpolate


class ChunkTrajectory:
    """Policy steps at control times; sampled at each low-level tick.

    ``merge`` drops steps whose period is already over, starts from the current setpoint, and
    cross-fades the first ``blend`` seconds from the old plan into the new one.

    ``sample`` runs at every control tick, so it works on what ``merge`` prepared once per
    chunk (the times as a list, the end time) with scalar arithmetic and two row products:
    the same numbers as :func:`~groot_sdk.policy.actions.interpolate` at a tenth of its cost.
    """

    def __init__(self, policy_dt: float, zero_order: np.ndarray | None = None) -> None:
        self.policy_dt = policy_dt
        self.zero_order = zero_order
        self._zo = zero_order if zero_order is not None and zero_order.any() else None
        self.times: np.ndarray | None = None
        self.values: np.ndarray | None = None
        self._tlist: list[float] = []
        self._end = -np.inf
        self.dropped = 0  #: chunk steps dropped because they were already in the past

    def clear(self) -> None:
        self.times = self.values = None
        self._tlist, self._end = [], -np.inf

    @property
    def end(self) -> float:
        """Control time after which the plan has no action left."""
        return self._end

    def valid(self, t: float) -> bool:
        return t < self._end

    def remaining_steps(self, t: float) -> float:
        return max(0.0, (self._end - t) / self.policy_dt)

    def sample(self, t: float) -> np.ndarray | None:
        values = self.values
        if values is None:
            return None
        tl = self._tlist
        last = len(tl) - 1
        # interpolate()'s arithmetic, one point: the latest step at or before t, the next one,
        # the float64 fraction between them clipped to [0, 1] and rounded to float32
        i = min(max(bisect_right(tl, t) - 1, 0), last)
        j = min(i + 1, last)
        span = tl[j] - tl[i]
        frac = min(max((t - tl[i]) / span, 0.0), 1.0) if span > 0 else 0.0
        f = np.float32(frac)
        out = values[i] * (np.float32(1.0) - f)
        out += values[j] * f
        if self._zo is not None:
            out[self._zo] = values[i][self._zo]
        return out

    def merge(
        self,
        targets: np.ndarray,
        t_obs: float,
        now: float,
        current: np.ndarray | None,
        blend: float = 0.0,
    ) -> int:
        """Add a decoded chunk (horizon, dof) observed at control time ``t_obs``; returns the
        number of steps kept."""
        times = t_obs + np.arange(targets.shape[0]) * self.policy_dt
        keep = times + self.policy_dt > now + 1e-9
        self.dropped += int(np.count_nonzero(~keep))
        times, values = times[keep], targets[keep].astype(np.float32, copy=True)
        if times.size == 0:
            return 0
        if blend > 0 and self.valid(now):
            w = np.clip((times - now) / blend, 0.0, 1.0).astype(np.float32)[:, None]
            old = interpolate(self.times, self.values, times, self.zero_order)  # type: ignore[arg-type]
            mixed = w * values + (1 - w) * old
            if self.zero_order is not None:
                mixed[:, self.zero_order] = values[:, self.zero_order]
            values = mixed
        if current is not None and times[0] > now + 1e-9:
            # continue from the setpoint being executed (zero-order columns keep it until
            # the first new step starts)
            times = np.concatenate([[now], times])
            values = np.concatenate([np.asarray(current, np.float32)[None], values])
        self.times, self.values = times, values
        self._tlist = times.tolist()
        self._end = self._tlist[-1] + self.policy_dt
        return int(keep.sum())
