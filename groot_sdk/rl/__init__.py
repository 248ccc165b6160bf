"""Reinforcement learning on top of a base policy: residual RL, base-policy evaluation.

Not imported by ``import groot_sdk``. The statistics (:mod:`groot_sdk.rl.evaluate`) need only
numpy; the wrapper needs gymnasium and training stable-baselines3 (the ``rl`` extra), both
loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from groot_sdk.rl.evaluate import (
    EpisodeStats,
    EvalResult,
    Verdict,
    run_episodes,
    summarize,
    verdict,
    wilson_interval,
)

_LAZY = {
    "ResidualWrapper": "groot_sdk.rl.residual",
    "OffsetBackend": "groot_sdk.rl.offset",
    "EmbodimentEnv": "groot_sdk.rl.env",
    "make_env": "groot_sdk.rl.env",
    "goal_distance": "groot_sdk.rl.env",
    "ResidualBackend": "groot_sdk.rl.backend",
    "load_policy": "groot_sdk.rl.train",
    "evaluate_policy": "groot_sdk.rl.env",
    "TrainConfig": "groot_sdk.rl.train",
    "train_residual": "groot_sdk.rl.train",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'groot_sdk.rl' has no attribute '{name}'")


__all__ = [
    "EmbodimentEnv",
    "EpisodeStats",
    "EvalResult",
    "OffsetBackend",
    "ResidualBackend",
    "ResidualWrapper",
    "TrainConfig",
    "Verdict",
    "evaluate_policy",
    "goal_distance",
    "load_policy",
    "make_env",
    "run_episodes",
    "summarize",
    "train_residual",
    "verdict",
    "wilson_interval",
]
