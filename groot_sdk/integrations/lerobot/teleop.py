"""A scripted LeRobot ``Teleoperator`` (``--teleop.type=groot_sdk_trajectory``).

``lerobot-record`` needs a teleoperator or a policy to drive the robot. This one plays joint
targets for an SDK embodiment without a person or a leader arm: a waypoint file (CSV: a
``time`` column in seconds, then one column per joint, linear in between, held after the last
row) or, with no file, a slow sine sweep of every joint around the spec's default pose inside
its limits. Uses: smoke-testing a recording setup end to end, re-recording a known motion with
new cameras, and the tests that run ``lerobot-record`` on an SDK simulator.

Action keys are LeRobot's ``{joint}.pos``, matching :class:`~.robot.GrootRobot`.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import GrootError
from groot_sdk.spec import EmbodimentSpec

try:
    from lerobot.teleoperators import Teleoperator, TeleoperatorConfig
except ImportError as exc:  # pragma: no cover - exercised in the venv without lerobot
    raise GrootError(
        "'lerobot' is needed for groot_sdk.integrations.lerobot.GrootTrajectory but is not "
        "installed: pip install 'lerobot>=0.4.4'"
    ) from exc

TELEOP_TYPE = "groot_sdk_trajectory"


@TeleoperatorConfig.register_subclass(TELEOP_TYPE)
@dataclass(kw_only=True)
class GrootTrajectoryConfig(TeleoperatorConfig):
    """Joint names come from the SDK embodiment ``embodiment`` (its plugin name)."""

    embodiment: str = "so101"
    #: CSV of waypoints (``time`` + one column per joint); empty: the sine sweep
    waypoints: str = ""
    #: sweep amplitude as a fraction of each joint's half range (0..1)
    amplitude: float = 0.2
    #: sweep period in seconds
    period_s: float = 4.0


def read_waypoints(path: Path, joints: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(times (N,), positions (N, len(joints)))`` from a CSV, checked: increasing finite
    times, every joint present, finite values."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise GrootError(f"waypoints: cannot read {path}: {exc}") from exc
    if not rows:
        raise GrootError(f"waypoints: {path} has no rows")
    header = list(rows[0])
    missing = [c for c in ["time", *joints] if c not in header]
    if missing:
        raise GrootError(f"waypoints: {path} lacks columns {missing} (has {header})")
    try:
        times = np.array([float(r["time"]) for r in rows])
        pos = np.array([[float(r[j]) for j in joints] for r in rows], np.float32)
    except (TypeError, ValueError) as exc:
        raise GrootError(f"waypoints: {path}: a value is not a number ({exc})") from exc
    if not (np.isfinite(times).all() and np.isfinite(pos).all()):
        raise GrootError(f"waypoints: {path} holds NaN or infinite values")
    if (np.diff(times) <= 0).any():
        raise GrootError(f"waypoints: {path}: the time column must increase strictly")
    return times, pos


def sweep(spec: EmbodimentSpec, t: float, amplitude: float, period_s: float) -> np.ndarray:
    """Every joint at ``default + a * sin(2 pi t / T)`` with ``a`` a fraction of the distance
    to its nearer limit (joint phases staggered so the arm does not move as a plank)."""
    default = np.array([j.default for j in spec.joints], np.float64)
    lower = np.array(spec.lower, np.float64)
    upper = np.array(spec.upper, np.float64)
    room = np.minimum(default - lower, upper - default)
    room = np.where(np.isfinite(room), room, 0.5)
    phase = np.arange(len(default)) * (np.pi / 4)
    pos = default + amplitude * room * np.sin(2 * np.pi * t / period_s + phase)
    return pos.astype(np.float32)


class GrootTrajectory(Teleoperator):
    """Plays waypoints or a sweep, timed from ``connect``."""

    config_class = GrootTrajectoryConfig
    name = TELEOP_TYPE

    def __init__(self, config: GrootTrajectoryConfig, spec: EmbodimentSpec | None = None) -> None:
        super().__init__(config)
        self.config = config
        if not 0.0 <= config.amplitude <= 1.0:
            raise GrootError(f"amplitude {config.amplitude} is not within 0..1")
        if not config.period_s > 0:
            raise GrootError(f"period_s {config.period_s} must be > 0")
        if spec is None:
            from groot_sdk.plugins import get_registry

            spec = get_registry().embodiment(config.embodiment).spec
        self.spec = spec
        self.keys = [f"{j}.pos" for j in spec.joint_names]
        self._waypoints = (
            read_waypoints(Path(config.waypoints), spec.joint_names) if config.waypoints else None
        )
        self._start: float | None = None

    @property
    def action_features(self) -> dict[str, Any]:
        return {k: float for k in self.keys}

    @property
    def feedback_features(self) -> dict[str, Any]:
        return {}

    @property
    def is_connected(self) -> bool:
        return self._start is not None

    def connect(self, calibrate: bool = True) -> None:
        if self._start is not None:
            raise GrootError(f"{self}: already connected")
        self._start = time.monotonic()

    @property
    def is_calibrated(self) -> bool:
        return True

    def calibrate(self) -> None:
        pass

    def configure(self) -> None:
        pass

    def position(self, t: float) -> np.ndarray:
        """Joint targets ``t`` seconds after connect."""
        if self._waypoints is None:
            return sweep(self.spec, t, self.config.amplitude, self.config.period_s)
        times, pos = self._waypoints
        return np.array([np.interp(t, times, pos[:, i]) for i in range(pos.shape[1])], np.float32)

    def get_action(self) -> dict[str, Any]:
        if self._start is None:
            raise GrootError(f"{self}: get_action before connect()")
        target = self.position(time.monotonic() - self._start)
        return {k: float(v) for k, v in zip(self.keys, target)}

    def send_feedback(self, feedback: dict[str, Any]) -> None:
        pass

    def disconnect(self) -> None:
        if self._start is None:
            raise GrootError(f"{self}: not connected")
        self._start = None


__all__ = ["TELEOP_TYPE", "GrootTrajectory", "GrootTrajectoryConfig", "read_waypoints", "sweep"]
