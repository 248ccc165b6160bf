"""A LeRobot robot as an SDK embodiment, so the deployer, the controller, the safety filter
and the recorder can drive it.

Only the robot's documented surface is used (``observation_features``, ``action_features``,
``connect``, ``disconnect``, ``is_connected``, ``get_observation``, ``send_action``), so this
module does not import ``lerobot``. Joints are the ``{joint}.pos`` action keys (each must
also be observed); cameras are the observation features whose value is a ``(h, w, 3)``
shape. LeRobot robots do not publish joint limits: pass them, or every unnamed joint gets
``default_limits`` and a warning, since the safety filter is only as good as its limits.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.hardware import Actuator, Camera, Frame, JointCommand, JointEncoder, JointState
from groot_sdk.hardware.sensor import Sensor
from groot_sdk.spec import CameraSpec, ControlRates, EmbodimentSpec, Joint

log = logging.getLogger(__name__)

POS = ".pos"


def _joint_names(robot: Any) -> list[str]:
    action = dict(robot.action_features)
    observed = dict(robot.observation_features)
    names = [k[: -len(POS)] for k in action if k.endswith(POS)]
    if not names:
        raise SpecError(f"{robot}: no '*.pos' keys in action_features {sorted(action)}")
    others = [k for k in action if not k.endswith(POS)]
    if others:
        raise SpecError(f"{robot}: action keys {others} are not joint positions ('*.pos')")
    unobserved = [n for n in names if n + POS not in observed]
    if unobserved:
        raise SpecError(f"{robot}: joints {unobserved} are commanded but not observed")
    return names


def _camera_shapes(robot: Any) -> dict[str, tuple[int, int]]:
    out = {}
    for key, value in dict(robot.observation_features).items():
        if isinstance(value, tuple):
            if len(value) != 3 or value[2] != 3:
                raise SpecError(f"{robot}: camera '{key}' has shape {value}, expected (h, w, 3)")
            out[key] = (int(value[0]), int(value[1]))
    return out


def spec_from_lerobot(
    robot: Any,
    *,
    name: str | None = None,
    limits: Mapping[str, tuple[float, float]] | None = None,
    default_limits: tuple[float, float] = (-1e3, 1e3),
    velocity_limits: Mapping[str, float] | None = None,
    fps: float = 30.0,
    **spec_options: Any,
) -> EmbodimentSpec:
    """An :class:`EmbodimentSpec` from a LeRobot robot's features.

    One absolute action group, ``"joints"``; positions keep the robot's own units (LeRobot
    robots use degrees or a normalised range: give ``limits`` in those). ``fps`` sets both
    control rates; ``spec_options`` go to :class:`EmbodimentSpec` (``action_horizon``,
    ``embodiment_tag``...).
    """
    names = _joint_names(robot)
    limits = dict(limits or {})
    unknown = sorted(set(limits) - set(names))
    if unknown:
        raise SpecError(f"limits name unknown joints {unknown} (joints: {names})")
    guessed = [n for n in names if n not in limits]
    if guessed:
        warnings.warn(
            f"no limits for joints {guessed}: using {default_limits}; the safety filter "
            "cannot protect them (pass limits=...)",
            stacklevel=2,
        )
    vel = dict(velocity_limits or {})
    joints = []
    for n in names:
        lower, upper = limits.get(n, default_limits)
        # the default pose: 0 where the range allows it (a 0..100 gripper may start at 10)
        default = min(max(0.0, lower), upper)
        joints.append(Joint(n, lower, upper, default, velocity_limit=vel.get(n, float("inf"))))
    cameras = tuple(
        CameraSpec(cam, width=w, height=h, fps=fps) for cam, (h, w) in _camera_shapes(robot).items()
    )
    spec_options.setdefault("robot_type", str(getattr(robot, "name", "")))
    return EmbodimentSpec.from_groups(
        name or str(getattr(robot, "name", "lerobot")),
        {"joints": joints},
        cameras=cameras,
        rates=ControlRates(policy_hz=fps, low_level_hz=fps),
        **spec_options,
    )


class _Link:
    """The robot plus its latest observation, shared by the joint and camera sensors: one
    ``get_observation()`` per control tick, however many sensors read it."""

    def __init__(self, robot: Any, calibrate: bool) -> None:
        self.robot = robot
        self.calibrate = calibrate
        self.users = 0
        self.owned = False
        self._obs: dict[str, Any] | None = None
        self._taken: set[str] = set()

    def open(self) -> None:
        if self.users == 0 and not self.robot.is_connected:
            self.robot.connect(calibrate=self.calibrate)
            self.owned = True  # connected here, so disconnected here; a host's stays up
        self.users += 1

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.owned and self.robot.is_connected:
            self.owned = False
            self.robot.disconnect()

    def observation(self, reader: str) -> dict[str, Any]:
        if self._obs is None or reader in self._taken:
            self._obs = dict(self.robot.get_observation())
            self._taken.clear()
        self._taken.add(reader)
        return self._obs


class LeRobotJoints(JointEncoder, Actuator):
    """Reads ``{joint}.pos`` and sends them. LeRobot's ``Robot`` has no torque-off short of
    ``disconnect``: ``disable`` holds the last measured pose, ``close`` disconnects (LeRobot's
    follower arms turn torque off there)."""

    def __init__(self, link: _Link, joint_names: list[str], name: str = "joints") -> None:
        JointEncoder.__init__(self, name, joint_names)
        self.link = link
        self._keys = [j + POS for j in joint_names]

    def _on_connect(self) -> None:
        self.link.open()

    def _on_close(self) -> None:
        self.link.release()

    def _read(self) -> JointState:
        obs = self.link.observation(self.name)
        missing = [k for k in self._keys if k not in obs]
        if missing:
            raise HardwareError(f"{self.link.robot}: observation lacks {missing}")
        return JointState(np.array([float(obs[k]) for k in self._keys], np.float32))

    def _write(self, command: JointCommand) -> None:
        self.link.robot.send_action({k: float(v) for k, v in zip(self._keys, command.position)})

    def _hold(self) -> None:
        # a fresh reading: the host may read joints only at policy steps, and holding that
        # older pose would jump the arm back by up to a whole chunk
        self._write(JointCommand(self._read().position))

    def _on_disable(self) -> None:
        if self.link.robot.is_connected:
            self._hold()


class LeRobotCamera(Camera):
    """One image feature of the robot's observation (RGB, as LeRobot's cameras deliver)."""

    def __init__(self, link: _Link, camera: str) -> None:
        super().__init__(camera)
        self.link = link
        self._count = 0

    def _on_connect(self) -> None:
        self.link.open()

    def _on_close(self) -> None:
        self.link.release()

    def _read(self) -> Frame:
        image = self.link.observation(self.name).get(self.camera)
        if image is None:
            raise HardwareError(f"{self.link.robot}: observation lacks camera '{self.camera}'")
        self._count += 1
        return Frame(np.asarray(image, np.uint8), index=self._count)


def embodiment_from_lerobot(
    robot: Any,
    spec: EmbodimentSpec | None = None,
    *,
    calibrate: bool = True,
    **spec_options: Any,
) -> Embodiment:
    """An :class:`Embodiment` driving ``robot``; ``spec`` defaults to
    :func:`spec_from_lerobot` (``spec_options`` go there). Connecting the embodiment
    connects the robot unless it already is; closing it disconnects the robot."""
    if spec is None:
        spec = spec_from_lerobot(robot, **spec_options)
    elif spec_options:
        raise SpecError(f"spec options {sorted(spec_options)} given with an explicit spec")
    names = _joint_names(robot)
    if list(spec.joint_names) != names:
        raise SpecError(f"spec joints {list(spec.joint_names)} != robot joints {names}")
    shapes = _camera_shapes(robot)
    absent = [c.name for c in spec.cameras if c.name not in shapes]
    if absent:
        raise SpecError(f"spec cameras {absent} are not in {robot}'s observation_features")
    link = _Link(robot, calibrate)
    joints = LeRobotJoints(link, names)
    sensors: dict[str, Sensor] = {"joints": joints}
    for cam in spec.cameras:
        sensors[cam.name] = LeRobotCamera(link, cam.name)
    return Embodiment(spec, sensors, {"joints": joints})


__all__ = ["LeRobotCamera", "LeRobotJoints", "embodiment_from_lerobot", "spec_from_lerobot"]
