"""Train a residual on a base policy with PPO (stable-baselines3, the ``rl`` extra).

The run: evaluate the base alone, train PPO on ``ResidualWrapper`` envs with CSV (or
TensorBoard) logs, a learning curve and checkpoints, then evaluate base + residual.
Everything lands in ``out/``: ``logs/progress.csv``, ``curve.csv``, ``checkpoints/``,
``residual.safetensors`` + ``residual.json`` and ``report.json``.

Checkpoints are safetensors weights plus JSON, not stable-baselines3's zip: loading that
zip unpickles, which this project never does.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from attrs import asdict, define, field, frozen

from groot_sdk.errors import require
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.rl.evaluate import DEFAULT_EPISODES, EvalResult, run_episodes, summarize

log = logging.getLogger(__name__)

#: () -> a fresh env for one residual worker (an EmbodimentEnv or any env the wrapper takes)
EnvFactory = Callable[[], Any]
#: () -> a fresh base policy (each env owns one)
BaseFactory = Callable[[], PolicyBackend]


@define
class TrainConfig:
    alpha: float = 0.5
    steps: int = 20_000
    seed: int = 0
    n_envs: int = 1
    eval_episodes: int = DEFAULT_EPISODES
    checkpoint_every: int = 10_000  #: env steps between checkpoints (0: none)
    curve_every: int = 0  #: env steps between learning-curve evaluations (0: none)
    curve_episodes: int = 20
    log_format: str = "csv"  #: "csv" or "tensorboard" (then both)
    learning_rate: float = 1e-3
    n_steps: int = 1024  #: rollout length per env
    batch_size: int = 256
    n_epochs: int = 10
    gamma: float = 0.95
    net_arch: tuple[int, ...] = field(default=(64, 64), converter=tuple)
    replan_every: int = 1
    task: str = ""
    torch_threads: int = 1  #: keep PPO's torch off the other cores of small machines


@frozen
class TrainResult:
    out: Path
    base: EvalResult
    final: EvalResult
    curve: tuple[tuple[int, float, float | None], ...]  #: (steps, success, distance)
    seconds: float  #: wall time of ``learn``, learning-curve evaluations included
    weights: Path
    curve_seconds: float = 0.0  #: of which spent evaluating the learning curve

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "base": self.base.to_json(),
            "final": self.final.to_json(),
            "curve": [
                {"steps": s, "success_rate": r, "mean_distance": d} for s, r, d in self.curve
            ],
            "train_seconds": self.seconds,
            "curve_seconds": self.curve_seconds,
            "weights": str(self.weights),
        }


def _wrap(make_env: EnvFactory, make_base: BaseFactory, spec, alpha: float, cfg: TrainConfig):
    from groot_sdk.rl.residual import ResidualWrapper

    env = make_env()
    base = make_base()
    frames = getattr(env, "frames", None)
    return ResidualWrapper(
        env,
        base,
        spec,
        alpha=alpha,
        task=cfg.task or getattr(env, "task", ""),
        frames=frames if base.layout.video else None,
        replan_every=cfg.replan_every,
    )


def evaluate_residual(
    env: Any, predict: Callable[[np.ndarray], np.ndarray], episodes: int, seed: int
):
    """Roll a residual out on a wrapped env (deterministic actions) and summarise."""
    return summarize(run_episodes(env, predict, episodes, seed=seed))


def save_policy(model: Any, path: Path, meta: dict[str, Any]) -> Path:
    """The PPO policy's weights as safetensors, its shape and settings as JSON beside it."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.policy.state_dict().items()}
    save_file(state, str(path.with_suffix(".safetensors")))
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    return path.with_suffix(".safetensors")


def load_policy(path: str | Path) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """``(predict, meta)`` from :func:`save_policy`'s files: ``predict(obs) -> residual``,
    deterministic (the policy's mean action, clipped to [-1, 1])."""
    require("stable_baselines3", "rl", "residual RL")
    import torch
    from gymnasium import spaces
    from safetensors.torch import load_file
    from stable_baselines3.common.policies import ActorCriticPolicy

    path = Path(path)
    if path.is_dir():
        path = path / "residual.safetensors"
    meta = json.loads(path.with_suffix(".json").read_text())
    obs_space = spaces.Box(-np.inf, np.inf, (int(meta["obs_dim"]),), np.float32)
    act_space = spaces.Box(-1.0, 1.0, (int(meta["action_dim"]),), np.float32)
    policy = ActorCriticPolicy(obs_space, act_space, lambda _: 0.0, net_arch=list(meta["net_arch"]))
    policy.load_state_dict(load_file(str(path.with_suffix(".safetensors"))))
    policy.set_training_mode(False)

    def predict(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(obs, np.float32)).reshape(-1, obs_space.shape[0])
            action = policy._predict(x, deterministic=True).cpu().numpy()
        action = np.clip(action, -1.0, 1.0)
        return action[0] if np.ndim(obs) == 1 else action

    return predict, meta


def train_residual(
    make_env: EnvFactory,
    make_base: BaseFactory,
    spec: Any,
    config: TrainConfig,
    out_dir: str | Path,
    progress: bool = False,
    extra_meta: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Measure the base, train a residual with PPO, measure base + residual."""
    sb3 = require("stable_baselines3", "rl", "residual RL")
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    if config.log_format not in ("csv", "tensorboard"):
        raise ValueError(f"log_format must be 'csv' or 'tensorboard', not '{config.log_format}'")
    if config.log_format == "tensorboard":
        require("tensorboard", "rl", "TensorBoard logs")
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    out = Path(out_dir)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)

    eval_env = _wrap(make_env, make_base, spec, config.alpha, config)
    meta = {
        **asdict(config),
        "net_arch": list(config.net_arch),
        "embodiment": spec.name,
        "obs_dim": int(eval_env.observation_space.shape[0]),
        "action_dim": spec.action_dim,
        "include_base_action": eval_env.include_base_action,
        **dict(extra_meta or {}),
    }
    zero = np.zeros(spec.action_dim, np.float32)
    eval_seed = 10_000 + config.seed  # held-out episodes, never seen in training
    base_eval = evaluate_residual(eval_env, lambda _o: zero, config.eval_episodes, eval_seed)
    log.info("base alone: %s", base_eval.to_json())

    venv = VecMonitor(
        DummyVecEnv(
            [
                lambda: _wrap(make_env, make_base, spec, config.alpha, config)
                for _ in range(config.n_envs)
            ]
        )
    )
    venv.seed(config.seed)
    model = sb3.PPO(
        "MlpPolicy",
        venv,
        learning_rate=config.learning_rate,
        n_steps=config.n_steps,
        batch_size=config.batch_size,
        n_epochs=config.n_epochs,
        gamma=config.gamma,
        policy_kwargs={"net_arch": list(config.net_arch)},
        seed=config.seed,
        device="cpu",
        verbose=0,
    )
    formats = ["csv"] if config.log_format == "csv" else ["csv", "tensorboard"]
    model.set_logger(configure(str(out / "logs"), formats))

    curve: list[tuple[int, float, float | None]] = []

    def predict(obs: np.ndarray) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    class Periodic(BaseCallback):
        """Learning-curve points and safetensors checkpoints, by env steps."""

        def __init__(self) -> None:
            super().__init__()
            self.next_curve = config.curve_every or None
            self.next_ckpt = config.checkpoint_every or None
            self.spent = 0.0

        def _on_step(self) -> bool:
            t = self.num_timesteps
            if self.next_curve is not None and t >= self.next_curve:
                self._curve_point(t)
                self.next_curve += config.curve_every
            if self.next_ckpt is not None and t >= self.next_ckpt:
                save_policy(model, out / "checkpoints" / f"residual_{t}", {**meta, "steps": t})
                self.next_ckpt += config.checkpoint_every
            return True

        def _curve_point(self, t: int) -> None:
            began = time.perf_counter()
            res = evaluate_residual(eval_env, predict, config.curve_episodes, eval_seed)
            self.spent += time.perf_counter() - began
            curve.append((t, res.success_rate, res.mean_distance))
            model.logger.record("eval/success_rate", res.success_rate)
            log.info("steps %d: success %.3f", t, res.success_rate)

    callback = Periodic()
    if config.curve_every:
        callback._curve_point(0)
    callback.spent = 0.0
    start = time.perf_counter()
    model.learn(total_timesteps=config.steps, callback=callback, progress_bar=progress)
    seconds = time.perf_counter() - start
    in_curve = callback.spent
    if config.curve_every and curve[-1][0] != model.num_timesteps:
        callback._curve_point(model.num_timesteps)
    weights = save_policy(model, out / "residual", {**meta, "steps": model.num_timesteps})
    final = evaluate_residual(eval_env, predict, config.eval_episodes, eval_seed)
    log.info("base + residual: %s", final.to_json())
    with (out / "curve.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["steps", "success_rate", "mean_distance"])
        writer.writerows(curve)
    result = TrainResult(out, base_eval, final, tuple(curve), seconds, weights, in_curve)
    (out / "report.json").write_text(json.dumps({**result.to_json(), "config": meta}, indent=2))
    venv.close()
    eval_env.close()
    return result
