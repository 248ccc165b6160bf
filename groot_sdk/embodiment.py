"""An Embodiment ties a spec to the sensors and actuators that realise it (sim or hardware).

It assembles per-device readings into the spec's joint order and splits joint-order commands
back onto the devices, so a four-bus humanoid and a one-servo-bus arm look the same to the
deployer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np
from typing_extensions import Self

from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.hardware import (
    Actuator,
    Camera,
    Component,
    Frame,
    Imu,
    JointCommand,
    JointEncoder,
    JointState,
    Sensor,
    State,
    VectorSensor,
)
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)


@runtime_checkable
class Episodic(Protocol):
    """A simulated embodiment with episodes (reset and, where the task defines it, success)."""

    def reset(self, seed: int | None = None) -> None: ...

    def success(self) -> bool | None: ...


class Embodiment:
    """A robot: its :class:`EmbodimentSpec` plus named sensors and actuators.

    One driver object may appear both as a sensor and as an actuator (a simulator, a servo bus).
    ``episodic`` is the simulator, when there is one, for ``reset()``/``success()``.
    """

    def __init__(
        self,
        spec: EmbodimentSpec,
        sensors: Mapping[str, Sensor],
        actuators: Mapping[str, Actuator],
        episodic: Episodic | None = None,
        task: str = "",
    ) -> None:
        self.spec = spec
        self.sensors = dict(sensors)
        self.actuators = dict(actuators)
        self.episodic = episodic
        self.task = task
        self._joint_index = {n: i for i, n in enumerate(spec.joint_names)}
        self._encoders = [s for s in self.sensors.values() if isinstance(s, JointEncoder)]
        self._check_coverage()

    def _check_coverage(self) -> None:
        commanded = [n for a in self.actuators.values() for n in a.joint_names]
        unknown = [n for n in commanded if n not in self._joint_index]
        if unknown:
            raise SpecError(f"{self.spec.name}: actuators command unknown joints {unknown}")
        dup = sorted({n for n in commanded if commanded.count(n) > 1})
        if dup:
            raise SpecError(f"{self.spec.name}: joints {dup} are commanded by two actuators")
        if self.spec.state_dims is None:
            measured = {n for e in self._encoders for n in e.joint_names}
            missing = [n for n in self.spec.joint_names if n not in measured]
            if missing:
                raise SpecError(f"{self.spec.name}: no encoder measures joints {missing}")

    # -- lifecycle over every component -----------------------------------------------------
    def components(self) -> list[Component]:
        seen: dict[int, Component] = {}
        for c in [*self.sensors.values(), *self.actuators.values()]:
            seen.setdefault(id(c), c)
        return list(seen.values())

    def connect(self) -> None:
        for c in self.components():
            if c.state is State.UNCONFIGURED:
                c.connect()

    def enable(self) -> None:
        for a in self._unique(self.actuators.values()):
            if a.state is State.INACTIVE:
                a.enable()

    def hold(self) -> None:
        for a in self._unique(self.actuators.values()):
            if a.state is State.ACTIVE:
                a.hold()

    def safe_stop(self) -> list[str]:
        """Disable every actuator, best effort; return the errors instead of raising."""
        errors = []
        for a in self._unique(self.actuators.values()):
            try:
                a.disable()
            except Exception as exc:  # keep going: the other actuators must still stop
                log.exception("safe stop of %s failed", a.name)
                errors.append(f"{a.name}: {exc}")
        return errors

    def close(self) -> None:
        self.safe_stop()
        for c in self.components():
            try:
                c.close()
            except Exception:
                log.exception("closing %s failed", c.name)

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _unique(items) -> list:
        seen: dict[int, object] = {}
        for c in items:
            seen.setdefault(id(c), c)
        return list(seen.values())

    # -- reading ---------------------------------------------------------------------------
    def read_joints(self) -> JointState:
        """Joint positions and velocities in the spec's joint order."""
        n = self.spec.dof
        pos = np.full(n, np.nan, np.float32)
        vel = np.zeros(n, np.float32)
        stamp = 0.0
        for enc in self._encoders:
            reading = enc.read()
            idx = [self._joint_index[j] for j in enc.joint_names]
            pos[idx] = reading.position
            if reading.velocity is not None:
                vel[idx] = reading.velocity
            stamp = max(stamp, reading.stamp)
        missing = [self.spec.joint_names[i] for i in np.flatnonzero(~np.isfinite(pos))]
        if missing:
            raise HardwareError(f"{self.spec.name}: no valid position for joints {missing}")
        return JointState(pos, vel, stamp=stamp)

    def read_state(self, joints: JointState | None = None) -> np.ndarray:
        """The observed state vector (``spec.state_names`` order)."""
        if self.spec.state_dims is None:
            return (joints or self.read_joints()).position
        names = self.spec.state_dims
        index = {n: i for i, n in enumerate(names)}
        out = np.full(len(names), np.nan, np.float32)
        for s in self.sensors.values():
            if isinstance(s, VectorSensor):
                out[[index[d] for d in s.dims]] = s.read().values
        if not np.isfinite(out).all():
            missing = [names[i] for i in np.flatnonzero(~np.isfinite(out))]
            raise HardwareError(f"{self.spec.name}: no sensor provides state {missing}")
        return out

    def read_cameras(self) -> dict[str, Frame]:
        return {s.camera: s.read() for s in self.sensors.values() if isinstance(s, Camera)}

    def imu(self) -> Imu | None:
        return next((s for s in self.sensors.values() if isinstance(s, Imu)), None)

    # -- writing ---------------------------------------------------------------------------
    def write(self, position: np.ndarray, velocity: np.ndarray | None = None) -> None:
        """Send a joint-order position vector, split onto the actuators."""
        position = np.asarray(position, np.float32)
        if position.shape != (self.spec.dof,):
            raise HardwareError(
                f"{self.spec.name}: command has shape {position.shape}, expected ({self.spec.dof},)"
            )
        for act, idx in self._write_plan():
            vel = None if velocity is None else np.asarray(velocity, np.float32)[idx]
            act.write(JointCommand(position[idx], vel))

    def _write_plan(self) -> list[tuple[Actuator, np.ndarray]]:
        """Each actuator with its joints' indices, built once per set of actuators (a write
        runs every control tick)."""
        acts = tuple(self.actuators.values())
        plan = self.__dict__.get("_plan")
        if plan is None or plan[0] != acts:  # items compare by identity first
            steps = [
                (a, np.array([self._joint_index[j] for j in a.joint_names], np.intp))
                for a in self._unique(acts)
            ]
            plan = self._plan = (acts, steps)
        return plan[1]


def mock_embodiment(spec: EmbodimentSpec) -> Embodiment:
    """An embodiment whose joints mirror their commands and whose cameras draw test patterns.

    For loop and conformance tests without a simulator; starts at the default pose.
    """
    from groot_sdk.hardware.mock import ConstantVector, MirrorJoints, SyntheticCamera

    joints = MirrorJoints("joints", spec.joint_names, spec.defaults)
    sensors: dict[str, Sensor] = {"joints": joints}
    for cam in spec.cameras:
        sensors[cam.name] = SyntheticCamera(cam.name, cam.width, cam.height)
    if spec.state_dims is not None:
        sensors["state"] = ConstantVector("state", spec.state_dims)
    return Embodiment(spec, sensors, {"joints": joints})
