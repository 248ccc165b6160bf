"""``ik``: Jacobian-IK reaching for the SO-101, using MuJoCo kinematics of the shipped model.

Each call solves damped least squares for the ``gripperframe`` site position with the four
positioning joints (pan, lift, elbow, wrist flex; wrist roll and gripper keep their state),
then returns a chunk that walks from the current joints to the solution at no more than
``speed`` (fraction of each joint's velocity limit) and holds there.

The target comes from ``target=x,y,z`` (metres, robot base frame) or, when not given, from
the task instruction: the last three numbers in it, as the simulator's ``reach`` task writes
them (``reach the target at (0.250, -0.040, 0.120)``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from groot_sdk.errors import ObservationError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.sim.gl import import_mujoco
from groot_sdk.spec import EmbodimentSpec

EE_SITE = "gripperframe"
ARM = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def parse_target(value: Sequence[float] | str | None) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, str):
        numbers = _NUMBER.findall(value)
        if len(numbers) < 3:
            return None
        value = [float(x) for x in numbers[-3:]]
    target = np.asarray(value, np.float64).reshape(-1)
    if target.shape != (3,) or not np.isfinite(target).all():
        raise ValueError(f"ik: target must be 3 finite numbers x,y,z, got {value!r}")
    return target


def _language(observation: Observation, key: str) -> str:
    value: Any = observation.get(key)
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value if isinstance(value, str) else ""


class So101ReachIK(PolicyBackend):
    def __init__(
        self,
        spec: EmbodimentSpec,
        target: Sequence[float] | str | None = None,
        damping: float = 0.02,
        speed: float = 0.5,
        iterations: int = 100,
    ) -> None:
        from groot_sdk_so101.sim import assets_dir

        self.mj = import_mujoco()
        self.model = self.mj.MjModel.from_xml_path(str(assets_dir() / "so101_new_calib.xml"))
        self.data = self.mj.MjData(self.model)
        self.spec = spec
        self.fixed_target = parse_target(target)
        self.damping, self.speed, self.iterations = float(damping), float(speed), int(iterations)
        self.site = self.mj.mj_name2id(self.model, self.mj.mjtObj.mjOBJ_SITE, EE_SITE)
        ids = [self.mj.mj_name2id(self.model, self.mj.mjtObj.mjOBJ_JOINT, n) for n in ARM]
        self.qadr = self.model.jnt_qposadr[ids]
        self.dadr = self.model.jnt_dofadr[ids]
        self.all_qadr = self.model.jnt_qposadr[
            [
                self.mj.mj_name2id(self.model, self.mj.mjtObj.mjOBJ_JOINT, n)
                for n in spec.joint_names
            ]
        ]
        self.arm_index = np.array([spec.joint_names.index(n) for n in ARM])
        self.lower = np.array(spec.lower)
        self.upper = np.array(spec.upper)
        vmax = np.array([j.velocity_limit for j in spec.joints])
        self.max_step = np.where(np.isfinite(vmax), vmax, 2.0) * spec.rates.policy_dt * speed
        self._layout = ModalityLayout.from_spec(spec)
        self._layout = ModalityLayout(
            state=self._layout.state,
            action=self._layout.action,
            video=(),
            language_key=self._layout.language_key,
            action_horizon=self._layout.action_horizon,
            embodiment_tag=self._layout.embodiment_tag,
        )
        self.last_error = np.inf  #: m, the solver's residual at the last call

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        if options and "target" in options:
            self.fixed_target = parse_target(options["target"])

    def forward(self, q: np.ndarray) -> np.ndarray:
        """The ``gripperframe`` position for joint vector ``q`` (spec order)."""
        self.data.qpos[self.all_qadr] = q
        self.mj.mj_kinematics(self.model, self.data)
        return self.data.site_xpos[self.site].copy()

    def solve(self, q0: np.ndarray, target: np.ndarray) -> np.ndarray:
        q = np.clip(np.asarray(q0, np.float64).copy(), self.lower, self.upper)
        jacp = np.zeros((3, self.model.nv))
        lam2 = self.damping**2
        for _ in range(self.iterations):
            err = target - self.forward(q)
            self.last_error = float(np.linalg.norm(err))
            if self.last_error < 1e-4:
                break
            self.mj.mj_comPos(self.model, self.data)
            self.mj.mj_jacSite(self.model, self.data, jacp, None, self.site)
            jac = jacp[:, self.dadr]
            dq = jac.T @ np.linalg.solve(jac @ jac.T + lam2 * np.eye(3), err)
            q[self.arm_index] += np.clip(dq, -0.2, 0.2)
            q = np.clip(q, self.lower, self.upper)
        return q

    def _target(self, observation: Observation) -> np.ndarray:
        if self.fixed_target is not None:
            return self.fixed_target
        text = _language(observation, self._layout.language_key)
        target = parse_target(text)
        if target is None:
            raise ObservationError(
                f"ik: no target: give target=x,y,z or an instruction with the point "
                f"(got {text!r} in '{self._layout.language_key}')"
            )
        return target

    def get_action(self, observation: Observation) -> ActionChunk:
        parts = []
        for g in self.spec.observed_state_groups:
            key = f"state.{g.key}"
            if key not in observation:
                raise ObservationError(f"ik: observation lacks '{key}' ({g.size} values)")
            arr = np.asarray(observation[key], np.float64)
            if arr.shape[-1] != g.size or not np.isfinite(arr).all():
                raise ObservationError(
                    f"ik: '{key}' must be finite (..., {g.size}), got {arr.shape}"
                )
            parts.append(arr.reshape(-1, g.size)[-1])
        q_now = np.concatenate(parts)
        goal = self.solve(q_now, self._target(observation))
        horizon = self._layout.action_horizon
        steps = np.arange(1, horizon + 1)[:, None]
        delta = np.clip(goal - q_now, -self.max_step * steps, self.max_step * steps)
        plan = (q_now + delta).astype(np.float32)
        return {f"action.{g.key}": plan[:, g.slice].copy() for g in self.spec.action_groups}


def ik(spec: EmbodimentSpec, target: Sequence[float] | str | None = None, **options: Any):
    if spec.name != "so101":
        raise ValueError(f"ik: reaches with the SO-101 model only, not '{spec.name}'")
    allowed = {"damping", "speed", "iterations"}
    return So101ReachIK(spec, target, **{k: v for k, v in options.items() if k in allowed})
