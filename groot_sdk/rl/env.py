"""Any simulated embodiment as a gymnasium env, and base-policy evaluation on it.

:class:`EmbodimentEnv` speaks the spec: the action is the joint-order command vector, the
observation the state vector (``spec.state_names``). One env step is one policy step: the
command is written ``low_level_hz / policy_hz`` times (the simulators advance one control
period per write). Rewards: the simulator's ``reward()`` where it has one, else minus the
distance to the goal (``distance()``, or ``object_position``/``goal_position`` in the
state), else 0 on success and -1 otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from groot_sdk.embodiment import Embodiment
from groot_sdk.errors import MissingExtraError
from groot_sdk.hardware import State
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.rl.evaluate import DEFAULT_EPISODES, EvalResult
from groot_sdk.spec import EmbodimentSpec

try:
    import gymnasium as gym
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError("gymnasium", "rl", "RL environments") from exc
log = logging.getLogger(__name__)

#: state -> distance to the goal (metres), or None where the task has no goal
Distance = Callable[[np.ndarray], float]


def goal_distance(spec: EmbodimentSpec) -> Distance | None:
    """``|object - goal|`` from the state groups ``object_position``/``goal_position``
    (``eef_position`` when there is no object), or ``None`` when the state has no goal."""
    groups = {g.key: g.slice for g in spec.observed_state_groups}
    goal = groups.get("goal_position")
    achieved = groups.get("object_position", groups.get("eef_position"))
    if goal is None or achieved is None:
        return None

    def distance(state: np.ndarray) -> float:
        return float(np.linalg.norm(state[achieved] - state[goal]))

    return distance


class EmbodimentEnv(gym.Env):
    """A gymnasium env over a simulated :class:`Embodiment` (one from ``make_sim``)."""

    def __init__(
        self,
        embodiment: Embodiment,
        *,
        max_steps: int | None = None,
        dense: bool = True,
        distance: Distance | None = None,
    ) -> None:
        if embodiment.episodic is None:
            raise ValueError(f"'{embodiment.spec.name}' has no simulator episodes (episodic)")
        self.robot = embodiment
        self.sim: Any = embodiment.episodic
        spec = self.embodiment_spec = embodiment.spec
        self.task = embodiment.task
        self.max_steps = (
            max_steps if max_steps is not None else getattr(self.sim, "max_steps", None)
        )
        self.dense = dense
        self.distance = distance or self._sim_distance() or goal_distance(spec)
        self.repeat = max(1, round(spec.rates.low_level_hz / spec.rates.policy_hz))
        self.action_space = gym.spaces.Box(
            np.asarray(spec.lower, np.float32), np.asarray(spec.upper, np.float32)
        )
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (spec.state_dim,), np.float32)
        self._steps = 0
        self._started = False

    def _sim_distance(self) -> Distance | None:
        fn = getattr(self.sim, "distance", None)
        return (lambda _state: float(fn())) if callable(fn) else None

    def _start(self) -> None:
        self.robot.connect()
        self.robot.enable()
        self._started = True

    def _state(self) -> np.ndarray:
        return np.asarray(self.robot.read_state(), np.float32)

    def _info(self, state: np.ndarray) -> dict[str, Any]:
        info: dict[str, Any] = {}
        success = self.sim.success()
        if success is not None:
            info["is_success"] = float(bool(success))
        if self.distance is not None:
            info["distance"] = self.distance(state)
        return info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if not self._started:
            self._start()
        self.sim.reset(seed=seed)
        self._steps = 0
        state = self._state()
        return state, self._info(state)

    def step(self, action: np.ndarray):
        command = np.asarray(action, np.float32)
        for _ in range(self.repeat):
            self.robot.write(command)
        self._steps += 1
        state = self._state()
        info = self._info(state)
        failed = bool(getattr(self.sim, "failed", lambda: False)())
        if hasattr(self.sim, "reward"):
            reward = float(self.sim.reward())
        elif self.dense and "distance" in info:
            reward = -info["distance"]
        else:
            reward = 0.0 if info.get("is_success") else -1.0
        done = getattr(self.sim, "done", None)
        truncated = (callable(done) and bool(done())) or (
            self.max_steps is not None and self._steps >= self.max_steps
        )
        return state, reward, failed, truncated and not failed, info

    def frames(self) -> dict[str, np.ndarray]:
        """Camera images (uint8 RGB), for bases whose layout has video."""
        return {name: frame.image for name, frame in self.robot.read_cameras().items()}

    def close(self) -> None:
        if any(c.state is not State.FINALIZED for c in self.robot.components()):
            self.robot.close()


def make_env(embodiment: str, *, task: str = "", seed: int | None = None, **options: Any):
    """``EmbodimentEnv`` over the registered simulator of ``embodiment``."""
    from groot_sdk.plugins import get_registry

    entry = get_registry().embodiment(embodiment)
    env_opts = {k: options.pop(k) for k in ("max_steps", "dense") if k in options}
    sim_opts: dict[str, Any] = {"task": task, **options}
    if seed is not None:
        sim_opts["seed"] = seed
    return EmbodimentEnv(entry.make_sim(**sim_opts), **env_opts)


def evaluate_policy(
    env: EmbodimentEnv,
    backend: PolicyBackend,
    episodes: int = DEFAULT_EPISODES,
    *,
    seed: int = 0,
    task: str | None = None,
    replan_every: int | None = None,
    video: bool | None = None,
    confidence: float = 0.95,
    progress: bool = False,
    wrapper_options: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Run ``backend`` alone through the deployer, as ``groot run --sim --rate 0`` does, and
    summarise (:func:`~groot_sdk.rl.evaluate.evaluate_deployed`; ``wrapper_options``:
    ``action_map``, ``gripper``)."""
    from groot_sdk.rl.evaluate import evaluate_deployed

    return evaluate_deployed(
        env,
        backend,
        episodes,
        seed=seed,
        task=task,
        replan_every=replan_every,
        video=video,
        confidence=confidence,
        progress=progress,
        **dict(wrapper_options or {}),
    )
