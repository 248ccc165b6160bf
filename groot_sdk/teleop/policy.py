"""Teleoperation as a policy: the operator's device is read where a model would be asked.

A :class:`TeleopPolicy` answers each policy step with a one-step chunk computed from the
device (a leader arm's joints, keyboard or gamepad axes through a Cartesian mapping). It runs
under the same :class:`~groot_sdk.deploy.Controller` as ``groot run``, so the same safety
applies unchanged: chunk checks, joint limits, velocity limits (per control tick and, on
hardware, per measured second), and the watchdog. A lost device raises
:class:`~groot_sdk.teleop.events.DeviceLost` here; the controller then has no action, holds
within the tick, and stops safely after ``timeout`` more seconds.

:class:`VelocityTeleop` wraps a locomotion policy instead (BHL's RL walker): the device sets
the policy's observed ``state.velocity_command``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs
import numpy as np

from groot_sdk.errors import BackendError, HardwareError, ObservationError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec, GroupKind, Unit
from groot_sdk.teleop.bindings import TeleopInput
from groot_sdk.teleop.events import DeviceLost


class TeleopMapping(Protocol):
    """The device -> the robot's command (spec action order) for the observed state."""

    def reset(self) -> None: ...

    def __call__(self, state: np.ndarray, axes: Mapping[str, float]) -> np.ndarray: ...


def observed_state(spec: EmbodimentSpec, observation: Observation) -> np.ndarray:
    """The spec's state vector back from a flat (N1.5) observation."""
    parts = []
    for g in spec.observed_state_groups:
        key = f"state.{g.key}"
        if key not in observation:
            raise ObservationError(f"teleop: observation lacks '{key}' ({g.size} values)")
        arr = np.asarray(observation[key], np.float64)
        parts.append(arr.reshape(-1, g.size)[-1])
    return np.concatenate(parts) if parts else np.zeros(0)


class TeleopPolicy(PolicyBackend):
    """One-step chunks from ``mapping`` at ``policy_hz`` (default the spec's policy rate,
    which is also the rate a recording is written at). ``input``: the operator's axes (None
    for a device that needs none, e.g. a leader arm)."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        mapping: TeleopMapping,
        input: TeleopInput | None = None,
        *,
        policy_hz: float | None = None,
        name: str = "teleop",
    ) -> None:
        self.spec, self.mapping, self.input, self.name = spec, mapping, input, name
        self.policy_hz = float(policy_hz or spec.rates.policy_hz)
        self._layout = attrs.evolve(ModalityLayout.from_spec(spec), video=(), action_horizon=1)
        self.last_target: np.ndarray | None = None  #: the last command, for a live view

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        self.mapping.reset()

    def get_action(self, observation: Observation) -> ActionChunk:
        if self.input is not None and self.input.lost:
            raise DeviceLost(f"{self.name}: the input device is gone")
        axes = self.input.axes() if self.input is not None else {}
        state = observed_state(self.spec, observation)
        try:
            target = np.asarray(self.mapping(state, axes), np.float32)
        except HardwareError as exc:  # a dead leader bus: hold, then stop (the watchdog)
            raise DeviceLost(f"{self.name}: {exc}") from exc
        if target.shape != (self.spec.action_dim,):
            raise BackendError(
                f"{self.name}: the mapping gave {target.shape}, expected ({self.spec.action_dim},)"
            )
        self.last_target = target
        return {f"action.{g.key}": target[None, g.slice].copy() for g in self.spec.action_groups}

    def close(self) -> None:
        close = getattr(self.mapping, "close", None)
        if close is not None:
            close()


class NormalizedCartesian:
    """Axes -> a robot that takes normalized end-effector deltas (Fetch's ``[dx, dy, dz,
    gripper]``): ``speed`` of full scale on each axis; the gripper axis as is."""

    def __init__(self, spec: EmbodimentSpec, speed: float = 0.5) -> None:
        self.spec = spec
        self.speed = float(speed)
        eef = [g for g in spec.action_groups if g.kind is GroupKind.EEF and g.size >= 3]
        normalized = all(j.unit is Unit.NORMALIZED for j in spec.joints)
        if not eef or not normalized:
            raise BackendError(
                f"teleop: '{spec.name}' takes no normalized end-effector deltas; give its "
                "plugin a Cartesian solver (teleop.cartesian_solver) or use a leader device"
            )
        self.eef = eef[0]
        self.grip = [g for g in spec.action_groups if g.kind is GroupKind.GRIPPER]

    def reset(self) -> None:
        pass

    def __call__(self, state: np.ndarray, axes: Mapping[str, float]) -> np.ndarray:
        out = np.zeros(self.spec.action_dim, np.float32)
        s = self.eef.slice
        out[s][:3] = self.speed * np.array([axes["x"], axes["y"], axes["z"]])
        for g in self.grip:
            out[g.slice] = axes["gripper"]
        return np.clip(out, self.spec.lower, self.spec.upper)


class CartesianSolver(Protocol):
    """A plugin's kinematics: end-effector position for joints ``q`` (spec order) and an
    inverse solution from ``q`` towards ``target`` (metres, base frame)."""

    def forward(self, q: np.ndarray) -> np.ndarray: ...

    def solve(self, q0: np.ndarray, target: np.ndarray) -> np.ndarray: ...


class CartesianIK:
    """Axes -> joint targets through a plugin's IK: the end-effector target moves at
    ``speed`` m/s per unit axis and never leads the arm by more than ``max_lead`` m (so a
    held key cannot wind up a target the arm is far behind); ``roll_joint`` turns at
    ``roll_speed`` rad/s, the gripper moves at ``gripper_speed`` rad/s (+ opens)."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        solver: CartesianSolver,
        dt: float,
        *,
        speed: float = 0.08,
        max_lead: float = 0.04,
        roll_joint: str | None = None,
        roll_speed: float = 1.0,
        gripper_speed: float = 1.5,
    ) -> None:
        self.spec, self.solver, self.dt = spec, solver, float(dt)
        self.speed, self.max_lead = float(speed), float(max_lead)
        self.roll = spec.joint_names.index(roll_joint) if roll_joint else None
        self.roll_speed, self.gripper_speed = float(roll_speed), float(gripper_speed)
        g = spec.gripper
        self.grip = spec.joint_names.index(g.joint) if g is not None else None
        self.open_sign = 1.0 if g is None or g.open >= g.closed else -1.0
        self.lower, self.upper = np.array(spec.lower), np.array(spec.upper)
        self.reset()

    def reset(self) -> None:
        self.target: np.ndarray | None = None
        self.setpoint: np.ndarray | None = None

    def __call__(self, state: np.ndarray, axes: Mapping[str, float]) -> np.ndarray:
        q = np.asarray(state, np.float64)[: self.spec.dof]
        ee = self.solver.forward(q)
        if self.target is None or self.setpoint is None:
            self.target, self.setpoint = ee.copy(), q.copy()
        self.target = self.target + self.speed * self.dt * np.array(
            [axes["x"], axes["y"], axes["z"]]
        )
        lead = self.target - ee
        n = float(np.linalg.norm(lead))
        if n > self.max_lead:
            self.target = ee + lead * (self.max_lead / n)
        goal = np.array(self.solver.solve(q, self.target), np.float64)
        if self.roll is not None:
            self.setpoint[self.roll] += self.roll_speed * self.dt * axes["roll"]
            goal[self.roll] = self.setpoint[self.roll]
        if self.grip is not None:
            self.setpoint[self.grip] += (
                self.open_sign * self.gripper_speed * self.dt * axes["gripper"]
            )
            goal[self.grip] = self.setpoint[self.grip]
        self.setpoint = np.clip(self.setpoint, self.lower, self.upper)
        return np.clip(goal, self.lower, self.upper)


class VelocityTeleop(PolicyBackend):
    """A locomotion policy whose ``state.velocity_command`` comes from the axes (``vx``,
    ``vy``, ``yaw`` times ``max_command``); a lost device holds then stops, as above."""

    def __init__(
        self,
        inner: PolicyBackend,
        input: TeleopInput,
        max_command: Sequence[float] = (0.5, 0.3, 1.0),
    ) -> None:
        if not any(k.key == "velocity_command" for k in inner.layout.state):
            raise BackendError(
                "teleop: base velocity commands need a locomotion policy that observes "
                "state.velocity_command (e.g. -p onnx-rl for bhl)"
            )
        self.inner, self.input = inner, input
        self.max_command = np.asarray(max_command, np.float32)
        self.dialect, self.batched = inner.dialect, inner.batched
        self.policy_hz = getattr(inner, "policy_hz", None)
        self.replan_every = getattr(inner, "replan_every", None)
        self.last_command = np.zeros(3, np.float32)

    @property
    def layout(self) -> ModalityLayout:
        return self.inner.layout

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        self.inner.reset(options)

    def get_action(self, observation: Observation) -> ActionChunk:
        if self.input.lost:
            raise DeviceLost("teleop: the input device is gone")
        a = self.input.axes()
        cmd = self.max_command * np.array([a["vx"], a["vy"], a["yaw"]], np.float32)
        self.last_command = cmd
        obs = dict(observation)
        old = np.asarray(obs.get("state.velocity_command", np.zeros((1, 3), np.float32)))
        obs["state.velocity_command"] = np.broadcast_to(cmd, old.shape).astype(np.float32)
        return self.inner.get_action(obs)

    def close(self) -> None:
        self.inner.close()


__all__ = [
    "CartesianIK",
    "CartesianSolver",
    "NormalizedCartesian",
    "TeleopMapping",
    "TeleopPolicy",
    "VelocityTeleop",
    "observed_state",
]
