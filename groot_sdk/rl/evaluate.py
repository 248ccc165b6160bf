"""Measure a policy before training on it: success rate (Wilson interval), distance, return.

The protocol teams use before residual RL: run the base policy alone for 100 episodes; below
5% success the domain gap is too large for a residual to close, 5-20% is marginal, above 20%
proceed. The statistics here need only the standard library and numpy.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from attrs import frozen

DEFAULT_EPISODES = 100
GAP_BELOW = 0.05  #: success rate under which the domain gap is too large
PROCEED_ABOVE = 0.20  #: success rate over which residual RL should proceed


class Verdict(str, enum.Enum):
    DOMAIN_GAP = "domain gap too large"
    MARGINAL = "marginal"
    PROCEED = "proceed"


def verdict(success_rate: float) -> Verdict:
    """< 5%: domain gap too large; 5-20%: marginal; > 20%: proceed."""
    if not 0.0 <= success_rate <= 1.0:
        raise ValueError(f"success rate must be in [0, 1], got {success_rate}")
    if success_rate < GAP_BELOW:
        return Verdict.DOMAIN_GAP
    if success_rate <= PROCEED_ABOVE:
        return Verdict.MARGINAL
    return Verdict.PROCEED


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial rate: sound at 0/n and n/n, unlike the normal one."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in [0, {trials}], got {successes}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    # clamp away rounding (centre - half can be -1e-17 at p = 0)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


@frozen
class EpisodeStats:
    """One episode: success at its end, final distance to goal (where defined), return, steps."""

    success: bool
    episode_return: float
    length: int
    final_distance: float | None = None


@frozen
class EvalResult:
    episodes: int
    successes: int
    ci_low: float
    ci_high: float
    confidence: float
    mean_return: float
    std_return: float
    mean_length: float
    mean_distance: float | None

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes

    @property
    def verdict(self) -> Verdict:
        return verdict(self.success_rate)

    def to_json(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
            "mean_distance": self.mean_distance,
            "mean_return": self.mean_return,
            "std_return": self.std_return,
            "mean_length": self.mean_length,
            "verdict": self.verdict.value,
        }

    def summary(self) -> str:
        pct = round(self.confidence * 100)
        dist = "n/a" if self.mean_distance is None else f"{self.mean_distance:.4f} m"
        return "\n".join(
            [
                f"episodes       {self.episodes}",
                (
                    f"success rate   {self.success_rate:.3f}  ({self.successes}/{self.episodes}; "
                    f"{pct}% Wilson CI [{self.ci_low:.3f}, {self.ci_high:.3f}])"
                ),
                f"mean distance  {dist}",
                f"episode return {self.mean_return:.3f} +- {self.std_return:.3f}",
                f"episode length {self.mean_length:.1f}",
                f"verdict        {self.verdict.value}",
            ]
        )


def summarize(stats: Sequence[EpisodeStats], confidence: float = 0.95) -> EvalResult:
    if not stats:
        raise ValueError("no episodes to summarise")
    n = len(stats)
    wins = sum(bool(s.success) for s in stats)
    low, high = wilson_interval(wins, n, confidence)
    returns = np.array([s.episode_return for s in stats], np.float64)
    dists = [s.final_distance for s in stats if s.final_distance is not None]
    return EvalResult(
        episodes=n,
        successes=wins,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        mean_return=float(returns.mean()),
        std_return=float(returns.std()),
        mean_length=float(np.mean([s.length for s in stats])),
        mean_distance=float(np.mean(dists)) if dists else None,
    )


#: ``act(observation) -> action`` for :func:`run_episodes`
Act = Callable[[Any], Any]


def episode_distance(observation: Any, info: dict[str, Any]) -> float | None:
    """Distance to goal: ``info["distance"]``, else ``|achieved_goal - desired_goal|`` (GoalEnv)."""
    if "distance" in info:
        return float(info["distance"])
    if isinstance(observation, dict) and {"achieved_goal", "desired_goal"} <= observation.keys():
        diff = np.asarray(observation["achieved_goal"]) - np.asarray(observation["desired_goal"])
        return float(np.linalg.norm(diff))
    return None


def run_episodes(
    env: Any,
    act: Act,
    episodes: int = DEFAULT_EPISODES,
    seed: int | None = 0,
    max_steps: int | None = None,
    reset_policy: Callable[[], None] | None = None,
    progress: bool = False,
) -> list[EpisodeStats]:
    """Roll ``act`` out on a gymnasium env for ``episodes`` episodes (seeds ``seed + i``).

    Success is ``info["is_success"]`` (gymnasium-robotics) or ``info["success"]`` at the
    episode's last step; an env that reports neither counts as failed.
    """
    out: list[EpisodeStats] = []
    iterator: Any = range(episodes)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="eval", unit="ep")
    for i in iterator:
        obs, info = env.reset(seed=None if seed is None else seed + i)
        if reset_policy is not None:
            reset_policy()
        total, steps, done = 0.0, 0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs))
            total += float(reward)
            steps += 1
            done = bool(terminated or truncated) or (max_steps is not None and steps >= max_steps)
        success = bool(info.get("is_success", info.get("success", False)))
        out.append(EpisodeStats(success, total, steps, episode_distance(obs, info)))
    return out


class _EpisodeStatsMonitor:
    """Sums an :class:`~groot_sdk.rl.env.EmbodimentEnv`'s reward once per policy step of a
    deployer run (what one env step would have given) and keeps each episode's outcome."""

    def __init__(self, env: Any, progress: Any = None) -> None:
        self.env, self.progress = env, progress
        self.stats: list[EpisodeStats] = []
        self._ticks = 0
        self._total = 0.0

    def start_episode(self, episode: int) -> None:
        self._ticks, self._total = 0, 0.0

    def _reward(self) -> tuple[float, float | None]:
        env = self.env
        state = env._state()
        info = env._info(state)
        if hasattr(env.sim, "reward"):
            reward = float(env.sim.reward())
        elif env.dense and "distance" in info:
            reward = -info["distance"]
        else:
            reward = 0.0 if info.get("is_success") else -1.0
        return reward, info.get("distance")

    def tick(self, t: float, mode: str) -> None:
        self._ticks += 1
        if self._ticks % self.env.repeat == 0:
            self._total += self._reward()[0]

    def end_episode(self, success: bool | None) -> None:
        reward, distance = self._reward()
        if self._ticks % self.env.repeat:  # a last, partial policy step
            self._total += reward
        length = math.ceil(self._ticks / self.env.repeat)
        self.stats.append(EpisodeStats(bool(success), self._total, length, distance))
        if self.progress is not None:
            self.progress.update(1)


def evaluate_deployed(
    env: Any,
    backend: Any,
    episodes: int = DEFAULT_EPISODES,
    *,
    seed: int | None = 0,
    task: str | None = None,
    replan_every: int | None = None,
    video: bool | None = None,
    confidence: float = 0.95,
    progress: bool = False,
    **config: Any,
) -> EvalResult:
    """Evaluate ``backend`` on the simulated embodiment of an
    :class:`~groot_sdk.rl.env.EmbodimentEnv` through the deployer, lock-step (``rate_hz=0``):
    the same episodes, seeds (``seed + i``), per-episode instructions, chunk execution,
    decoding and safety filter as ``groot run --sim --rate 0`` (issue 13: ``eval`` decoded
    chunks on its own and kept the first episode's instruction, so it disagreed with ``run``).

    Rewards, lengths and distances are the env's: one env step per policy step. ``video=False``
    leaves camera frames out for bases that ignore them. ``config``: further
    :class:`~groot_sdk.deploy.DeployConfig` options (``action_map``, ``gripper``, ``blend``...).
    """
    from groot_sdk.deploy import DeployConfig, RealtimeDeployer
    from groot_sdk.errors import BackendError

    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    policy: Any = backend if video is None or video else _WithoutVideo(backend)
    own_steps = getattr(env.sim, "max_steps", None)
    seconds = None  # the simulator's own episode length, as `groot run` has it
    if env.max_steps is not None and env.max_steps != own_steps:
        seconds = env.max_steps * env.embodiment_spec.rates.policy_dt
    cfg = DeployConfig(
        rate_hz=0,
        episodes=episodes,
        seed=seed,
        task=task or "",
        replan_every=replan_every,
        seconds=seconds,
        hardware=False,
        **config,
    )
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=episodes, desc="eval", unit="ep")
    monitor = _EpisodeStatsMonitor(env, bar)
    try:
        report = RealtimeDeployer(env.robot, policy, cfg, monitor=monitor).run()
    finally:
        if bar is not None:
            bar.close()
    if report.stop_reason.startswith("interrupted"):
        raise KeyboardInterrupt(report.stop_reason)
    if report.safety_stops or len(monitor.stats) < episodes:
        raise BackendError(
            f"evaluation stopped after {len(monitor.stats)} of {episodes} episode(s): "
            f"{report.stop_reason}"
        )
    return summarize(monitor.stats, confidence)


class _WithoutVideo:
    """A backend seen with no cameras in its layout (for bases that ignore images)."""

    def __init__(self, backend: Any) -> None:
        import attrs

        object.__setattr__(self, "_backend", backend)
        object.__setattr__(self, "layout", attrs.evolve(backend.layout, video=()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def __setattr__(self, name: str, value: Any) -> None:  # e.g. a baseline's ``clock``
        setattr(self._backend, name, value)
