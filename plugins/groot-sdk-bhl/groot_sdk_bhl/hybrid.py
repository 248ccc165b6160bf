"""``hybrid``: BHL's RL locomotion policy on the legs, any backend (GR00T) on the arms.

The legs always follow the RL ONNX policy at its own rate (``rl_hz``, 25 Hz); the arms
follow an arm backend queried at ``policy_hz`` (10 Hz, its chunks interpolated in time).
A mode decides who owns what:

============== ====================== ==========================
mode           legs (RL)              arms
============== ====================== ==========================
locomotion     walk (velocity cmd)    the RL policy's arm targets
manipulation   stand (zero cmd)       the arm backend
both           walk                   the arm backend
stand          stand                  the RL policy's arm targets
============== ====================== ==========================

Modes come from :meth:`HybridController.set_mode`, or from language (:func:`parse_command`:
"walk forward" -> locomotion, "wave your arms" -> manipulation), given to :meth:`command`
or arriving as the observation's task text. Hand-overs are smooth: the arm blend weight
ramps over ``handover`` seconds and every arm target moves at most ``velocity_limit / rl_hz``
per RL step, so no hand-over makes a joint target jump further than its velocity limit
allows. The legs never change owner; their velocity command switches as a step by default
(``accel``: the policy was trained on step changes, and a slow ramp lingers in the command
range where it only stands - measured on the published policy: after a stop, a 0.5 m/s^2
ramp to 0.3 m/s left the robot stepping in place).

Run it like any backend at ``policy_hz = rl_hz`` (the deployer reads ``policy_hz``, and
bounds a one-step backend's targets by ``velocity_limit * policy_dt``).
"""

from __future__ import annotations

import enum
import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from groot_sdk.deploy.inference import InferenceWorker
from groot_sdk.errors import BackendError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.actions import ActionDecoder, interpolate
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend
from groot_sdk.spec import EmbodimentSpec

log = logging.getLogger(__name__)


class Mode(str, enum.Enum):
    LOCOMOTION = "locomotion"
    MANIPULATION = "manipulation"
    BOTH = "both"
    STAND = "stand"

    @property
    def walks(self) -> bool:
        return self in (Mode.LOCOMOTION, Mode.BOTH)

    @property
    def arms_from_backend(self) -> bool:
        return self in (Mode.MANIPULATION, Mode.BOTH)


_LOCO = re.compile(r"\b(walk\w*|go|move|step\w*|turn\w*|forward|backward|run|jog|come)\b")
_MANIP = re.compile(
    r"\b(wave|waving|arms?|hands?|pick\w*|grasp\w*|grab\w*|reach\w*|point\w*|lift\w*|"
    r"place|put|hold|give|clap\w*)\b"
)
_STAND = re.compile(r"\b(stop|stand|halt|freeze|still)\b")


def parse_command(text: str, speed: float = 0.3, yaw_rate: float = 0.5):
    """``(mode, (vx, vy, wz))`` for a language command, or ``None`` when it names no mode.

    Both a locomotion and a manipulation word ("walk forward and wave") -> ``both``.
    """
    t = text.lower()
    loco, manip = bool(_LOCO.search(t)), bool(_MANIP.search(t))
    if _STAND.search(t) and not manip:
        return Mode.STAND, (0.0, 0.0, 0.0)
    if not (loco or manip):
        return None
    vx = -speed if re.search(r"\b(back|backwards?)\b", t) else speed
    vy = wz = 0.0
    if re.search(r"\bturn\w*\b", t):
        vx = 0.0
        wz = -yaw_rate if "right" in t else yaw_rate
    elif re.search(r"\b(sideways|strafe)\b", t) or re.search(r"\bstep\w* (left|right)\b", t):
        vx, vy = 0.0, (-speed if "right" in t else speed)
    mode = Mode.BOTH if loco and manip else Mode.LOCOMOTION if loco else Mode.MANIPULATION
    return mode, ((vx, vy, wz) if mode.walks else (0.0, 0.0, 0.0))


def _toward(value: np.ndarray | float, target, step: float):
    return value + np.clip(np.asarray(target) - value, -step, step)


class HybridController(PolicyBackend):
    """Legs from ``legs`` (RL, one-step chunks), arms from ``arms`` (any backend)."""

    def __init__(
        self,
        spec: EmbodimentSpec,
        legs: PolicyBackend,
        arms: PolicyBackend,
        *,
        mode: Mode | str = Mode.STAND,
        speed: float = 0.3,
        handover: float = 0.5,
        accel: float = math.inf,
        arm_hz: float | None = None,
        rl_hz: float | None = None,
        arm_groups: Sequence[str] | None = None,
        async_arms: bool = False,
    ) -> None:
        self.spec, self.legs, self.arms = spec, legs, arms
        self.policy_hz = float(rl_hz or getattr(legs, "policy_hz", None) or spec.rates.rl_hz or 25)
        self.rl_dt = 1.0 / self.policy_hz
        self.arm_dt = 1.0 / float(arm_hz or spec.rates.policy_hz)
        if self.arm_dt < self.rl_dt:
            raise BackendError("hybrid: the arm backend cannot run faster than the RL policy")
        if legs.layout.action_horizon != 1:
            raise BackendError("hybrid: the legs policy must return one-step chunks (RL)")
        self.speed, self.handover, self.accel = float(speed), float(handover), float(accel)
        keys = list(arm_groups or [g.key for g in spec.action_groups if "arm" in g.key])
        groups = [spec.action_group(k) for k in keys]
        self.arm_index = np.array([i for g in groups for i in range(g.start, g.end)], np.intp)
        vmax = np.array([j.velocity_limit for j in spec.joints], np.float64)
        #: the most a target may move in one RL step (rad)
        self.max_step = np.where(np.isfinite(vmax), vmax * self.rl_dt, np.inf).astype(np.float32)
        self.leg_decoder = ActionDecoder(spec, legs.layout)
        self.arm_decoder = ActionDecoder(spec, arms.layout)
        self._layout = self._union_layout()
        self._lock = threading.Lock()
        self._target_mode = Mode(mode)
        self._target_vel = np.zeros(3, np.float32)
        if self._target_mode.walks:
            self._target_vel[0] = self.speed
        self._last_text: str | None = None
        self._worker = InferenceWorker(arms) if async_arms else None
        if hasattr(arms, "clock"):  # open-loop arm baselines follow this controller's clock
            arms.clock = lambda: self.time
        self.reset()

    # -- layout ------------------------------------------------------------------------------
    def _union_layout(self) -> ModalityLayout:
        legs, arms = self.legs.layout, self.arms.layout
        have = {k.key for k in legs.state}
        state = (*legs.state, *(k for k in arms.state if k.key not in have))
        return ModalityLayout(
            state=state,
            action=ModalityLayout.from_spec(self.spec).action,
            video=arms.video,
            language_key=self.spec.language_key,
            action_horizon=1,
            embodiment_tag=arms.embodiment_tag,
        )

    @property
    def layout(self) -> ModalityLayout:
        return self._layout

    # -- modes -------------------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self._target_mode

    def set_mode(self, mode: Mode | str, velocity: Sequence[float] | None = None) -> None:
        """Switch (thread-safe); the hand-over itself happens smoothly over the next steps."""
        mode = Mode(mode)
        if velocity is None:
            velocity = (self.speed, 0.0, 0.0) if mode.walks else (0.0, 0.0, 0.0)
        with self._lock:
            if mode is not self._target_mode:
                self.events.append((self.time, f"{self._target_mode.value} -> {mode.value}"))
                log.info("hybrid: %s -> %s at t=%.2f s", self._target_mode, mode, self.time)
            self._target_mode = mode
            self._target_vel = np.asarray(velocity, np.float32)

    def command(self, text: str) -> Mode | None:
        """Switch by language; returns the new mode, or ``None`` if the text names none."""
        parsed = parse_command(text, self.speed)
        if parsed is None:
            log.info("hybrid: '%s' names no mode; keeping %s", text, self._target_mode.value)
            return None
        self.set_mode(*parsed)
        return parsed[0]

    # -- PolicyBackend -----------------------------------------------------------------------
    def reset(self, options: Mapping[str, Any] | None = None) -> None:
        self.legs.reset(options)
        self.arms.reset(options)
        self.step = 0
        self.weight = 1.0 if self._target_mode.arms_from_backend else 0.0
        self.velocity = self._target_vel.copy()
        self._prev: np.ndarray | None = None
        self._arm_times: np.ndarray | None = None
        self._arm_values: np.ndarray | None = None
        self._next_arm = 0.0
        self.events: list[tuple[float, str]] = []  #: (time, "from -> to") switches
        self.arm_queries = 0
        #: the largest |arm backend - RL| arm target gap met while handing over: the jump an
        #: instant switch would have made
        self.handover_gap = 0.0

    @property
    def time(self) -> float:
        """Control time since reset: RL steps x RL period."""
        return self.step * self.rl_dt

    def _reference(self, observation: Observation) -> np.ndarray:
        parts = [
            np.asarray(observation[f"state.{g.key}"], np.float32).reshape(-1, g.size)[-1]
            for g in self.spec.observed_state_groups
        ]
        return np.concatenate(parts)

    def _subset(self, observation: Observation, layout: ModalityLayout) -> dict[str, Any]:
        keys = [f"state.{k.key}" for k in layout.state] + [f"video.{v.name}" for v in layout.video]
        out = {k: observation[k] for k in keys if k in observation}
        out[layout.language_key] = observation.get(self.spec.language_key, [""])
        return out

    def _take_chunk(self, chunk: Mapping[str, Any], t_obs: float, reference: np.ndarray) -> None:
        values = self.arm_decoder.decode(chunk, reference)
        self._arm_times = t_obs + np.arange(len(values)) * self.arm_dt
        self._arm_values = values

    def _arm_targets(self, observation: Observation, reference: np.ndarray) -> np.ndarray | None:
        """The arm backend's targets now (its chunk interpolated), querying it at arm_hz."""
        t = self.time
        due = self._arm_values is None or t >= self._next_arm - 1e-9
        if self._worker is None:
            if due:
                chunk = self.arms.get_action(self._subset(observation, self.arms.layout))
                self._take_chunk(chunk, t, reference)
                self._next_arm, self.arm_queries = t + self.arm_dt, self.arm_queries + 1
        else:  # GR00T-sized models: infer in a thread, the legs keep their 25 Hz
            result = self._worker.poll()
            if result is not None and result.error is not None:
                log.warning("hybrid: arm backend failed: %s", result.error)
            elif result is not None and result.chunk is not None:
                self._take_chunk(result.chunk, *result.tag)
            if due and not self._worker.pending:
                obs = self._subset(observation, self.arms.layout)
                self._worker.submit(obs, (t, reference.copy()))
                self._next_arm, self.arm_queries = t + self.arm_dt, self.arm_queries + 1
        if self._arm_times is None or self._arm_values is None:
            return None
        return interpolate(self._arm_times, self._arm_values, t)

    def get_action(self, observation: Observation) -> ActionChunk:
        text = observation.get(self.spec.language_key)
        said = text[0] if isinstance(text, (list, tuple)) and text else None
        if isinstance(said, str) and said != self._last_text:
            self._last_text = said
            if said:
                self.command(said)
        with self._lock:
            mode, target_vel = self._target_mode, self._target_vel.copy()
        # ramps: velocity command at `accel`, arm ownership over `handover` seconds
        self.velocity = _toward(self.velocity, target_vel, self.accel * self.rl_dt)
        goal_w = 1.0 if mode.arms_from_backend else 0.0
        rate = self.rl_dt / self.handover if self.handover > 0 else 1.0
        self.weight = float(_toward(self.weight, goal_w, rate))

        reference = self._reference(observation)
        legs_obs = self._subset(observation, self.legs.layout)
        legs_obs["state.velocity_command"] = self.velocity[None].astype(np.float32)
        rl = self.leg_decoder.decode(self.legs.get_action(legs_obs), reference)[0]
        out = rl.copy()
        a = self.arm_index
        if self.weight > 0 or mode.arms_from_backend:
            arm = self._arm_targets(observation, reference)
            if arm is None:  # no arm chunk yet (asynchronous): the arms stay with RL
                self.weight = 0.0
            else:
                if 0.0 < self.weight < 1.0 or self.weight != goal_w:
                    gap = float(np.max(np.abs(arm[a] - rl[a])))
                    self.handover_gap = max(self.handover_gap, gap)
                out[a] = (1.0 - self.weight) * rl[a] + self.weight * arm[a]
        if self._prev is not None:  # no arm target moves faster than its velocity limit
            prev = self._prev[a]
            out[a] = prev + np.clip(out[a] - prev, -self.max_step[a], self.max_step[a])
        out = np.clip(out, self.leg_decoder.lower, self.leg_decoder.upper)
        self._prev = out
        self.step += 1
        return {
            f"action.{g.key}": out[g.slice][None].astype(np.float32)
            for g in self.spec.action_groups
        }

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close(timeout=0.5)
        try:
            self.legs.close()
        finally:
            self.arms.close()


def hybrid(
    spec: EmbodimentSpec,
    legs: str | None = None,
    arms: str = "hold",
    mode: str = "stand",
    speed: float = 0.3,
    handover: float = 0.5,
    **options: Any,
) -> HybridController:
    """Factory. ``legs``: the RL ONNX file or a published policy's name (else
    ``GROOT_BHL_POLICY``, else the packaged ``humanoid`` policy); ``arms``: a backend
    name (``--policy`` syntax); ``arms_<opt>=...`` options go to the arm backend, the rest
    (``embodiment_tag`` ...) to both."""
    from groot_sdk.policy.factory import make_backend
    from groot_sdk_bhl.locomotion import onnx_rl

    arm_opts = {k[5:]: v for k, v in options.items() if k.startswith("arms_")}
    shared = {k: v for k, v in options.items() if not k.startswith("arms_")}
    leg_policy = onnx_rl(spec, path=legs)
    arm_policy = make_backend(arms, spec, {**shared, **arm_opts})
    return HybridController(spec, leg_policy, arm_policy, mode=mode, speed=speed, handover=handover)
