"""Residual RL on a base policy: ``action = clip(base + alpha * scale * residual, limits)``.

The base is any :class:`~groot_sdk.policy.PolicyBackend` (GR00T, a scripted controller, a
remote server). It sees GR00T observations (state keys, camera frames when its layout has
video, the task text); the residual agent sees the spec's state vector, optionally with the
base action appended, and acts in [-1, 1] per joint. ``scale`` is each joint's half range, so
``alpha`` is the fraction of the range the residual may move a joint.

The wrapped env must take the embodiment's joint-order command vector as its action and return
the spec's state vector as its observation (:class:`~groot_sdk.rl.env.EmbodimentEnv` does, for
any simulated embodiment). Other envs plug in through ``observe``/``frames``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from groot_sdk.errors import ActionError, MissingExtraError, ObservationError
from groot_sdk.policy.actions import ActionDecoder, ActionMap
from groot_sdk.policy.backend import ActionChunk, PolicyBackend
from groot_sdk.spec import EmbodimentSpec

try:
    import gymnasium as gym
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError("gymnasium", "rl", "residual RL") from exc

#: raw env observation -> the spec's state vector (``spec.state_names`` order)
Observe = Callable[[Any], np.ndarray]
#: () -> {camera: uint8 (H, W, 3)}, for bases whose layout has video
Frames = Callable[[], Mapping[str, np.ndarray]]


class ResidualWrapper(gym.Wrapper):
    """Blend a base policy with a learned residual, in the embodiment's action space.

    ``info`` carries ``base_action``, ``residual_action`` (scaled, in joint units) and
    ``action`` (what was sent). ``replan_every`` reuses one base chunk for that many steps
    (1: ask the base every step). ``video=False`` leaves camera frames out for bases that
    ignore them although their layout lists cameras (``zero``, ``hold``), which saves
    rendering. Each env owns its base, so vector envs are built with
    ``gymnasium.vector.SyncVectorEnv([lambda: ResidualWrapper(...), ...])``.
    """

    def __init__(
        self,
        env: Any,
        base: PolicyBackend,
        spec: EmbodimentSpec,
        *,
        alpha: float = 0.2,
        task: str = "",
        observe: Observe | None = None,
        frames: Frames | None = None,
        include_base_action: bool = True,
        replan_every: int = 1,
        residual_penalty: float = 0.0,
        action_map: ActionMap | None = None,
        gripper: str | None = None,
        video: bool | None = None,
    ) -> None:
        super().__init__(env)
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if replan_every < 1:
            raise ValueError("replan_every must be >= 1")
        self.base, self.embodiment_spec, self.alpha, self.task = base, spec, float(alpha), task
        self.observe = observe or _state_vector(spec)
        self.frames = frames
        self.include_base_action = include_base_action
        self.replan_every = replan_every
        self.residual_penalty = float(residual_penalty)
        self.lower = np.asarray(spec.lower, np.float32)
        self.upper = np.asarray(spec.upper, np.float32)
        space = getattr(env, "action_space", None)
        if isinstance(space, gym.spaces.Box):
            if space.shape != (spec.action_dim,):
                raise ActionError(
                    f"env action space {space.shape} is not {spec.name}'s "
                    f"{spec.action_dim}-D command ({', '.join(spec.joint_names)})"
                )
            self.lower = np.maximum(self.lower, space.low.astype(np.float32))
            self.upper = np.minimum(self.upper, space.high.astype(np.float32))
        self.scale = (self.upper - self.lower) / 2.0
        self.decoder = ActionDecoder(spec, base.layout, action_map, gripper)
        self._defaults = np.asarray(spec.defaults, np.float32)
        self.uses_video = (
            bool(base.layout.video) if video is None else video and bool(base.layout.video)
        )
        self._obs_layout = base.layout if self.uses_video else attrs.evolve(base.layout, video=())
        if self.uses_video and frames is None:
            names = [f"video.{v.name}" for v in base.layout.video]
            raise ObservationError(f"the base policy needs {names}; pass frames=")
        width = spec.state_dim + (spec.action_dim if include_base_action else 0)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (width,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (spec.action_dim,), np.float32)
        self._chunk: np.ndarray | None = None  # decoded (horizon, dof)
        self._since_plan = 0
        self._state = np.zeros(spec.state_dim, np.float32)
        self._base_action = np.zeros(spec.action_dim, np.float32)

    # -- the base policy -------------------------------------------------------------------
    def _groot_observation(self) -> dict[str, Any]:
        from groot_sdk.policy.observation import assemble_observation

        frames = dict(self.frames()) if self.uses_video and self.frames is not None else None
        return assemble_observation(
            self.embodiment_spec,
            self._state,
            frames,
            self.task,
            dialect=self.base.dialect,
            batched=self.base.batched,
            layout=self._obs_layout,
        )

    def _query_base(self) -> np.ndarray:
        if self._chunk is None or self._since_plan >= self.replan_every:
            chunk: ActionChunk = self.base.get_action(self._groot_observation())
            if self.base.batched or self.base.dialect == "n1.6":
                chunk = {k: np.asarray(v)[0] for k, v in chunk.items()}
            self._chunk, self._since_plan = self.decoder.decode(chunk, self._reference()), 0
        command = self._chunk[min(self._since_plan, len(self._chunk) - 1)]
        self._since_plan += 1
        return np.clip(command, self.lower, self.upper)

    def _reference(self) -> np.ndarray:
        """Joint positions for relative groups: the state, when the state is the joints."""
        if self.embodiment_spec.state_dims is None:
            return self._state
        return self._defaults

    def _observation(self, raw: Any) -> np.ndarray:
        state = np.asarray(self.observe(raw), np.float32).reshape(-1)
        if state.shape != (self.embodiment_spec.state_dim,):
            raise ObservationError(
                f"{self.embodiment_spec.name}: observed state has {state.shape[0]} values, expected "
                f"{self.embodiment_spec.state_dim} ({', '.join(self.embodiment_spec.state_names)})"
            )
        self._state = state
        self._base_action = self._query_base()
        if self.include_base_action:
            return np.concatenate([state, self._base_action])
        return state.copy()

    # -- gymnasium API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        raw, info = self.env.reset(seed=seed, options=options)
        self.base.reset()
        self._chunk, self._since_plan = None, 0
        obs = self._observation(raw)
        info = dict(info)
        info["base_action"] = self._base_action.copy()
        _add_distance(raw, info)
        return obs, info

    def blend(self, residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(command, scaled residual)`` for a residual in [-1, 1] on the current base action."""
        r = np.clip(np.asarray(residual, np.float32).reshape(-1), -1.0, 1.0)
        if r.shape != (self.embodiment_spec.action_dim,):
            raise ActionError(
                f"residual has {r.shape[0]} values, expected {self.embodiment_spec.action_dim} "
                f"({', '.join(self.embodiment_spec.joint_names)})"
            )
        if not np.isfinite(r).all():
            raise ActionError("residual action is not finite")
        scaled = self.alpha * self.scale * r
        return np.clip(self._base_action + scaled, self.lower, self.upper), scaled

    def step(self, action: np.ndarray):
        command, scaled = self.blend(action)
        base = self._base_action.copy()
        raw, reward, terminated, truncated, info = self.env.step(command)
        info = dict(info)
        info.update(base_action=base, residual_action=scaled, action=command)
        _add_distance(raw, info)
        if self.residual_penalty:
            reward = float(reward) - self.residual_penalty * float(np.sum(np.square(action)))
        return self._observation(raw), reward, terminated, truncated, info

    def close(self) -> None:
        try:
            self.base.close()
        finally:
            super().close()


def _state_vector(spec: EmbodimentSpec) -> Observe:
    def observe(raw: Any) -> np.ndarray:
        if isinstance(raw, Mapping):
            if "state" not in raw:
                raise ObservationError(
                    f"env observation has keys {sorted(raw)}; expected 'state' or pass observe="
                )
            raw = raw["state"]
        return np.asarray(raw, np.float32)

    return observe


def _add_distance(raw: Any, info: dict[str, Any]) -> None:
    goal_env = isinstance(raw, Mapping) and {"achieved_goal", "desired_goal"} <= raw.keys()
    if "distance" not in info and goal_env:
        diff = np.asarray(raw["achieved_goal"]) - np.asarray(raw["desired_goal"])
        info["distance"] = float(np.linalg.norm(diff))
