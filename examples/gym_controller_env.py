"""A gymnasium environment with ``groot_sdk.Controller`` in the loop: the policy drives a
simulated robot and the agent adds a bounded joint offset (a residual) on top.

    python examples/gym_controller_env.py                    # one SO-101 reach episode, zero residual
    python examples/gym_controller_env.py --random           # random residuals
    python examples/gym_controller_env.py --policy sinusoid --embodiment so101

What the agent controls, honestly: the controller's safety filter (joint limits, velocity
limit) runs inside ``Controller.step`` *before* the wrapper sees the command, and there is no
hook to add an offset ahead of it. So the wrapper adds ``action`` (at most ``max_offset``
radians per joint) to ``command.position`` and clamps the sum to the same joint limits
(``spec.lower`` / ``spec.upper``) again; the velocity bound on the sum is the controller's
plus ``max_offset``. ``"hold"`` commands get the offset too (the robot holds near the last
setpoint); a ``"stop"`` (watchdog or fault) ends the episode (``terminated``) and nothing more
is written.

One ``env.step`` is one policy period: ``substeps`` control periods of the simulator (SO-101:
2 x 1/60 s at 30 Hz), each with a ``controller.step`` and a write. Observations are the
measured joints and the controller's own setpoint (both in ``spec.joint_names`` order), so an
agent sees what the policy wanted. Reward: 1 when the simulator's task succeeds (it then
terminates), else 0. The controller runs lock-step (``rate_hz=0``) on simulated time
(``hardware=False``), so an episode is deterministic for a seed. Needs groot-sdk-so101 (or
the plugin of ``embodiment``), the `sim` extra and gymnasium.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from groot_sdk import Controller, DeployConfig
from groot_sdk.plugins import get_registry
from groot_sdk.policy.factory import make_backend


class ControllerEnv(gym.Env):
    """``embodiment``'s simulator driven by ``policy`` through a :class:`Controller`; the
    action is a joint offset added to each setpoint (see the module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        embodiment: str = "so101",
        policy: str = "ik",
        max_offset: float = 0.1,
        seed: int = 0,
    ) -> None:
        entry = get_registry().embodiment(embodiment)
        self.embodiment_spec = spec = entry.spec  # (gym.Env.spec is gymnasium's EnvSpec)
        self.backend = make_backend(policy, spec)
        self.robot = entry.make_sim(seed=seed, render=bool(self.backend.layout.video))
        self.sim = self.robot.episodic
        self.dt = spec.rates.low_level_dt
        self.substeps = max(1, round(spec.rates.policy_dt / self.dt))
        self.lower = np.asarray(spec.lower, np.float32)
        self.upper = np.asarray(spec.upper, np.float32)
        self.max_offset = float(max_offset)
        self.robot.connect()
        self.robot.enable()
        self.controller = Controller(spec, self.backend, DeployConfig(rate_hz=0), hardware=False)
        dof = spec.dof
        self.action_space = gym.spaces.Box(-self.max_offset, self.max_offset, (dof,), np.float32)
        # measured joints may overshoot the limits a little (contacts, soft limits): a margin
        margin = np.float32(0.5)
        self.observation_space = gym.spaces.Dict(
            {
                "joints": gym.spaces.Box(self.lower - margin, self.upper + margin, (dof,)),
                "setpoint": gym.spaces.Box(self.lower, self.upper, (dof,), np.float32),
            }
        )
        self._setpoint = np.zeros(dof, np.float32)
        self._k = 0
        self._limit = math.inf
        self._stopped = False

    def _observe(self) -> dict[str, np.ndarray]:
        joints = np.asarray(self.robot.read_joints().position, np.float32)
        return {"joints": joints, "setpoint": self._setpoint.copy()}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is None:  # a fresh episode from gymnasium's generator
            seed = int(self.np_random.integers(2**31))
        self.sim.reset(seed=seed)
        position = np.asarray(self.robot.read_joints().position, np.float32)
        self.controller.reset(position, task=getattr(self.sim, "instruction", None))
        self._setpoint = np.clip(position, self.lower, self.upper)
        self._k = 0
        max_steps = getattr(self.sim, "max_steps", None)
        self._limit = max_steps * self.substeps if max_steps else math.inf
        self._stopped = False
        return self._observe(), {"instruction": getattr(self.sim, "instruction", "")}

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._stopped:
            raise RuntimeError("the controller stopped this episode: call reset()")
        offset = np.clip(np.asarray(action, np.float32), -self.max_offset, self.max_offset)
        info: dict[str, Any] = {"mode": "run"}
        for _ in range(self.substeps):
            command = self.controller.step(
                self.robot.read_joints(),
                self.robot.read_cameras,  # rendered only when the controller observes
                self._k * self.dt,
                state=None if self.embodiment_spec.state_dims is None else self.robot.read_state(),
            )
            info["mode"] = command.mode
            if command.mode == "stop":  # watchdog or fault: the host's safe stop
                self._stopped = True
                info["reason"] = command.reason
                break
            self._setpoint = command.position
            self.robot.write(np.clip(command.position + offset, self.lower, self.upper))
            self._k += 1
        success = bool(self.sim.success())
        terminated = success or self._stopped
        truncated = not terminated and (self._k >= self._limit or bool(self.sim.done()))
        info["success"] = success
        return self._observe(), float(success), terminated, truncated, info

    def close(self) -> None:
        self.controller.close()
        self.backend.close()
        self.robot.safe_stop()
        self.robot.close()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embodiment", default="so101")
    ap.add_argument("--policy", default="ik")
    ap.add_argument("--random", action="store_true", help="random residuals (else zero)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    env = ControllerEnv(args.embodiment, args.policy, seed=args.seed)
    env.action_space.seed(args.seed)
    try:
        obs, info = env.reset(seed=args.seed)
        steps, total, done = 0, 0.0, False
        while not done:
            action = env.action_space.sample() if args.random else np.zeros_like(obs["joints"])
            obs, reward, terminated, truncated, info = env.step(action)
            total += reward
            steps += 1
            done = terminated or truncated
    finally:
        env.close()
    result = {"steps": steps, "return": total, "success": info["success"], "mode": info["mode"]}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
