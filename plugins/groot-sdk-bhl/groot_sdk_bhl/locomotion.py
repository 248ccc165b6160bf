"""``onnx-rl``: run Berkeley Humanoid Lite's RL locomotion policy (ONNX) with onnxruntime.

Observation (hardware.md 1.5, Isaac ``ObsTerm`` order, no history)::

    [velocity command (vx, vy, wz) 3, base gyro 3, projected gravity 3,
     joint pos - default N, joint vel N, last action N]

Action: ``target = clip(a, -10000, 10000) * 0.25 + default``. ``policy_humanoid.onnx`` has
N = 22 (all joints); legs-only policies (N = 12) drive the ``leg_*`` joints and hold the arms
at their defaults. The layout asks the deployer for the derived state keys
``velocity_command``, ``base_gyro``, ``projected_gravity`` and ``joint_velocity`` besides
the spec's joint groups, and returns one-step chunks at ``policy_hz`` (the spec's
``rl_hz``, 25 Hz, the rate it was trained at; the deployer reads ``policy_hz``).

The published policies (HybridRobotics/Berkeley-Humanoid-Lite ``checkpoints/``, MIT, licence
beside them) ship in this package under ``assets/policies``: ``path`` takes one by name
(``humanoid``, the default; ``humanoid_legs``; ``biped_25hz_a``) or any ONNX file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import BackendError, ObservationError, require
from groot_sdk.modality.layout import KeyDim, ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)

ACTION_SCALE = 0.25
ACTION_CLIP = 10000.0
POLICY_ENV = "GROOT_BHL_POLICY"
POLICY_DIR = Path(__file__).parent / "assets" / "policies"
#: the published policies by name (package data); ``humanoid`` drives all 22 joints
POLICIES = {
    "humanoid": "policy_humanoid.onnx",
    "humanoid_legs": "policy_humanoid_legs.onnx",
    "biped_25hz_a": "policy_biped_25hz_a.onnx",
}
DEFAULT_POLICY = "humanoid"


def policy_file(name_or_path: str | os.PathLike[str] | None = None) -> str:
    """The ONNX file for a published policy's name or a path (else ``GROOT_BHL_POLICY``,
    else the default ``humanoid`` policy shipped in this package)."""
    value = os.fspath(name_or_path or os.environ.get(POLICY_ENV) or DEFAULT_POLICY).strip()
    if value in POLICIES:
        path = POLICY_DIR / POLICIES[value]
        if not path.is_file():
            raise BackendError(
                f"onnx-rl: the published policy '{value}' is missing from the installed "
                f"package ({path}); reinstall groot-sdk-bhl or give a policy file"
            )
        return str(path)
    if not os.path.isfile(value):
        raise BackendError(
            f"onnx-rl: policy file '{value}' does not exist (give an ONNX file or a published "
            f"policy: {', '.join(POLICIES)})"
        )
    return value


def _parse_command(command: Sequence[float] | str | None) -> np.ndarray:
    if command is None:
        return np.zeros(3, np.float32)
    if isinstance(command, str):
        command = [float(x) for x in command.split(",")]
    cmd = np.asarray(command, np.float32).reshape(-1)
    if cmd.shape != (3,) or not np.isfinite(cmd).all():
        raise ValueError(f"onnx-rl: command must be 3 finite values vx,vy,wz, got {command!r}")
    return cmd


class OnnxLocomotion(PolicyBackend):
    """One RL step per call: observation -> joint position targets for all spec joints."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        path: str | os.PathLike,
        command: Sequence[float] | str | None = None,
        action_scale: float = ACTION_SCALE,
        providers: Sequence[str] = ("CPUExecutionProvider",),
    ) -> None:
        ort = require("onnxruntime", "onnx", "the onnx-rl backend")
        path = policy_file(path)
        self.spec = spec
        self.path = path
        self.session = ort.InferenceSession(path, providers=list(providers))
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        n_obs = int(inp.shape[-1])
        n_act = int(self.session.get_outputs()[0].shape[-1])
        if n_act == spec.dof:
            self.indices = np.arange(spec.dof)
        else:
            legs = [i for i, n in enumerate(spec.joint_names) if n.startswith("leg_")]
            if n_act != len(legs):
                raise BackendError(
                    f"onnx-rl: '{path}' outputs {n_act} actions; {spec.name} has {spec.dof} "
                    f"joints ({len(legs)} leg joints)"
                )
            self.indices = np.array(legs)
        if n_obs != 9 + 3 * n_act:
            raise BackendError(
                f"onnx-rl: '{path}' takes {n_obs} observations, expected 9 + 3 x {n_act} = "
                f"{9 + 3 * n_act} (command, gyro, gravity, joint pos, joint vel, last action)"
            )
        self.default = np.array(spec.defaults, np.float32)
        self.command = _parse_command(command)
        #: a command given to the backend stands in for an all-zero observed one: the
        #: deployer sends zeros when the run has no ``--command``, which would otherwise
        #: silently override ``--policy-opt command=...``
        self.own_command = command is not None
        self.action_scale = float(action_scale)
        self.last_action = np.zeros(n_act, np.float32)
        self.policy_hz = float(spec.rates.rl_hz or spec.rates.policy_hz)
        groups = spec.observed_state_groups
        self._groups = groups
        self._layout = ModalityLayout(
            state=(
                KeyDim("velocity_command", 3, ("vx", "vy", "wz")),
                KeyDim("base_gyro", 3, ("wx", "wy", "wz")),
                KeyDim("projected_gravity", 3, ("gx", "gy", "gz")),
                *(KeyDim(g.key, g.size, spec.state_names[g.slice]) for g in groups),
                KeyDim("joint_velocity", spec.dof, spec.joint_names),
            ),
            action=tuple(
                KeyDim(g.key, g.size, spec.joint_names[g.slice]) for g in spec.action_groups
            ),
            video=(),
            language_key=spec.language_key,
            action_horizon=1,
            embodiment_tag=spec.embodiment_tag,
        )

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        self.last_action[:] = 0
        if options and "command" in options:
            self.command = _parse_command(options["command"])
            self.own_command = options["command"] is not None

    def _state(self, observation: Observation, key: str, dim: int) -> np.ndarray:
        full = f"state.{key}"
        if full not in observation:
            raise ObservationError(f"onnx-rl: observation lacks '{full}' ({dim} values)")
        arr = np.asarray(observation[full], np.float32)
        if arr.shape[-1] != dim:
            raise ObservationError(
                f"onnx-rl: '{full}' has shape {arr.shape}, expected (..., {dim})"
            )
        row = arr.reshape(-1, dim)[-1]
        if not np.isfinite(row).all():
            raise ObservationError(f"onnx-rl: '{full}' has non-finite values")
        return row

    def get_action(self, observation: Observation) -> ActionChunk:
        cmd = self.command
        if "state.velocity_command" in observation:
            observed = self._state(observation, "velocity_command", 3)
            if observed.any() or not self.own_command:
                cmd = observed
        q = np.concatenate([self._state(observation, g.key, g.size) for g in self._groups])
        qd = self._state(observation, "joint_velocity", self.spec.dof)
        idx = self.indices
        obs = np.concatenate(
            [
                cmd,
                self._state(observation, "base_gyro", 3),
                self._state(observation, "projected_gravity", 3),
                q[idx] - self.default[idx],
                qd[idx],
                self.last_action,
            ]
        ).astype(np.float32)
        raw = self.session.run(None, {self.input_name: obs[None]})[0].reshape(-1)
        action = np.clip(raw, -ACTION_CLIP, ACTION_CLIP).astype(np.float32)
        if not np.isfinite(action).all():
            raise BackendError("onnx-rl: the policy produced non-finite actions")
        self.last_action = action
        target = self.default.copy()
        target[idx] = action * self.action_scale + self.default[idx]
        return {f"action.{g.key}": target[g.slice][None].copy() for g in self.spec.action_groups}


def onnx_rl(
    spec: EmbodimentSpec,
    path: str | None = None,
    command: Sequence[float] | str | None = None,
    action_scale: float = ACTION_SCALE,
    **_: Any,
) -> OnnxLocomotion:
    """Factory: ``path``: an ONNX file or a published policy's name (else
    ``GROOT_BHL_POLICY``, else ``humanoid``, shipped in this package). ``command``
    (``vx,vy,wz``): the backend's own velocity command, used whenever the observed
    ``state.velocity_command`` is absent or all zero (a run without ``--command``)."""
    path = policy_file(path)
    log.info("onnx-rl: policy %s", path)
    return OnnxLocomotion(spec, path, command=command, action_scale=action_scale)


def rl_spec(spec: EmbodimentSpec) -> EmbodimentSpec:
    """``spec`` as an RL controller drives it: policy steps at ``rates.rl_hz``, and each
    joint's velocity limit applied per RL step rather than per low-level tick.

    The RL policy was trained to step its PD targets once per 40 ms. The deployer's
    setpoint filter allows ``velocity_limit * dt`` per 250 Hz tick (0.04 rad for BHL's
    10 rad/s), the right guard for interpolated GR00T chunks; it lags the RL targets so much
    that the robot falls after ~8 s (measured). Scaled per RL step it walks; the PD loop
    still bounds the joints' real speed. The deployer now does this itself for one-step
    backends; this view remains for code that drives the spec without the deployer.
    """
    import attrs

    rl_hz = spec.rates.rl_hz or spec.rates.policy_hz
    ticks = spec.rates.low_level_hz / rl_hz
    joints = tuple(attrs.evolve(j, velocity_limit=j.velocity_limit * ticks) for j in spec.joints)
    return attrs.evolve(spec, joints=joints, rates=attrs.evolve(spec.rates, policy_hz=rl_hz))
