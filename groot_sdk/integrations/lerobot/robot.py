"""An SDK embodiment as a LeRobot ``Robot`` (``--robot.type=groot_sdk``).

LeRobot >= 0.4 imports installed distributions named ``lerobot_robot_*`` before parsing its
command line; ``plugins/lerobot-robot-groot-sdk`` is one, importing this module registers the
config type, and LeRobot's device factory finds :class:`GrootRobot` beside it, so
``lerobot-record --robot.type=groot_sdk`` works. LeRobot 0.3.3 has no such discovery (its
``make_robot_from_config`` is a fixed list): there, ``GrootRobot(GrootRobotConfig(...))`` plugs
into LeRobot's Python API (record loop, ``LeRobotDataset``, ``hw_to_dataset_features``).

Features follow LeRobot's convention: ``{joint}.pos`` floats (SDK units: rad or m) and one
``(height, width, 3)`` uint8 RGB image per camera. ``send_action`` goes through the SDK's
safety filter (finite check, joint limits, ``velocity_limit`` per ``1 / fps``; on hardware,
also per the measured time since the previous command when that is shorter, so a host
calling faster than ``fps`` cannot move a joint faster than its limit) and returns what was
actually sent, as LeRobot's own robots do.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import ActionError, GrootError
from groot_sdk.policy.actions import SafetyFilter
from groot_sdk.spec import ColorOrder

try:
    from lerobot.robots import Robot, RobotConfig
except ImportError as exc:  # pragma: no cover - exercised in the venv without lerobot
    raise GrootError(
        "'lerobot' is needed for groot_sdk.integrations.lerobot.GrootRobot but is not "
        "installed: pip install 'lerobot>=0.4.4' lerobot_robot_groot_sdk (or lerobot==0.3.3)"
    ) from exc

log = logging.getLogger(__name__)

TYPE_NAME = "groot_sdk"


@RobotConfig.register_subclass(TYPE_NAME)
@dataclass(kw_only=True)
class GrootRobotConfig(RobotConfig):
    """Which SDK embodiment to wrap: its plugin name, simulated or not, and the options its
    ``sim``/``hardware`` factory takes (e.g. ``{"port": "/dev/ttyACM0"}``)."""

    embodiment: str = "so101"
    sim: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    #: the rate ``send_action`` is called at; bounds each step by ``velocity_limit / fps``
    fps: float = 30.0
    #: reset a simulator with this seed on connect
    seed: int | None = None


class GrootRobot(Robot):
    """A LeRobot robot backed by an SDK :class:`~groot_sdk.embodiment.Embodiment`.

    ``embodiment`` overrides the plugin lookup (an embodiment built by hand, or in a test).
    """

    config_class = GrootRobotConfig
    name = TYPE_NAME

    def __init__(self, config: GrootRobotConfig, embodiment: Embodiment | None = None) -> None:
        super().__init__(config)
        self.config = config
        if embodiment is None:
            from groot_sdk.plugins import get_registry

            entry = get_registry().embodiment(config.embodiment)
            make = entry.make_sim if config.sim else entry.make_hardware
            embodiment = make(**config.options)
        self.embodiment: Embodiment = embodiment
        self.spec = embodiment.spec
        self._safety = SafetyFilter(self.spec, 1.0 / config.fps)
        self._last: np.ndarray | None = None
        self._last_time: float | None = None
        self._connected = False

    # -- features -------------------------------------------------------------------------
    @property
    def observation_features(self) -> dict[str, Any]:
        feats: dict[str, Any] = {f"{j}.pos": float for j in self.spec.joint_names}
        feats.update({c.name: (c.height, c.width, 3) for c in self.spec.cameras})
        return feats

    @property
    def action_features(self) -> dict[str, Any]:
        return {f"{j}.pos": float for j in self.spec.joint_names}

    @property
    def cameras(self) -> dict[str, Any]:
        """LeRobot's record script sizes its image writer by ``len(robot.cameras)``."""
        return {c.name: c for c in self.spec.cameras}

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self, calibrate: bool = True) -> None:
        if self._connected:
            raise GrootError(f"{self}: already connected")
        self.embodiment.connect()
        if self.embodiment.episodic is not None:
            self.embodiment.episodic.reset(self.config.seed)
        self.embodiment.enable()
        self._last = None
        self._last_time = None
        self._connected = True

    @property
    def is_calibrated(self) -> bool:
        return True  # SDK drivers calibrate (or load calibration) in their own connect

    def calibrate(self) -> None:
        pass

    def configure(self) -> None:
        pass

    def disconnect(self) -> None:
        if not self._connected:
            raise GrootError(f"{self}: not connected")
        self._connected = False
        self.embodiment.close()

    # -- I/O ----------------------------------------------------------------------------------
    def _require_connected(self, what: str) -> None:
        if not self._connected:
            raise GrootError(f"{self}: {what} before connect()")

    def get_observation(self) -> dict[str, Any]:
        self._require_connected("get_observation")
        joints = self.embodiment.read_joints()
        obs: dict[str, Any] = {
            f"{j}.pos": float(v) for j, v in zip(self.spec.joint_names, joints.position)
        }
        for cam, frame in self.embodiment.read_cameras().items():
            image = np.asarray(frame.image, np.uint8)
            obs[cam] = image[..., ::-1].copy() if frame.color_order is ColorOrder.BGR else image
        return obs

    def send_action(self, action: dict[str, Any]) -> dict[str, Any]:
        self._require_connected("send_action")
        keys = [f"{j}.pos" for j in self.spec.joint_names]
        missing = [k for k in keys if k not in action]
        unknown = sorted(set(action) - set(keys))
        if missing or unknown:
            raise ActionError(
                f"{self}: action keys missing {missing}, unknown {unknown} (expected {keys})"
            )
        target = np.array([float(action[k]) for k in keys], np.float32)
        previous = self._last
        if previous is None:
            previous = self.embodiment.read_joints().position
        sent = self._safety(target, previous)
        now = time.monotonic()
        if not self.config.sim and self._last_time is not None:
            sent = self._measured_bound(sent, previous, now - self._last_time)
        self.embodiment.write(sent)
        self._last = sent
        self._last_time = now
        return {k: float(v) for k, v in zip(keys, sent)}

    def _measured_bound(self, sent: np.ndarray, previous: np.ndarray, elapsed: float) -> np.ndarray:
        """Scale the per-call step bound by ``elapsed * fps`` when calls come faster than
        ``fps`` (a simulator keeps its own time, so this applies to hardware only)."""
        frac = elapsed * self.config.fps
        if not frac < 1.0:  # on time or late (NaN cannot widen the bound)
            return sent
        step = self._safety.max_step * max(frac, 0.0)
        delta = np.asarray(sent, np.float64) - previous
        return (previous + np.clip(delta, -step, step)).astype(np.float32)


__all__ = ["TYPE_NAME", "GrootRobot", "GrootRobotConfig"]
