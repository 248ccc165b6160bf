"""The Deployer contract: owns the control loop and is responsible for ending it safely."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from attrs import define, field


@define
class RunReport:
    """What a run did. ``to_json`` gives the fields ``groot run --json`` prints."""

    episodes: int = 0
    successes: int = 0
    success_defined: bool = False
    steps: int = 0
    loop_hz: float = 0.0
    jitter_ms_p50: float = 0.0
    jitter_ms_p99: float = 0.0
    jitter_ms_max: float = 0.0
    overruns: int = 0
    safety_stops: int = 0
    holds: int = 0
    stop_reason: str = ""
    extra: dict[str, Any] = field(factory=dict)

    @property
    def success_rate(self) -> float | None:
        if not self.success_defined or self.episodes == 0:
            return None
        return self.successes / self.episodes

    def to_json(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "success_rate": self.success_rate,
            "steps": self.steps,
            "loop_hz": round(self.loop_hz, 3),
            "jitter_ms_p50": round(self.jitter_ms_p50, 4),
            "jitter_ms_p99": round(self.jitter_ms_p99, 4),
            "jitter_ms_max": round(self.jitter_ms_max, 4),
            "overruns": self.overruns,
            "safety_stops": self.safety_stops,
            "holds": self.holds,
            "stop_reason": self.stop_reason,
            **self.extra,
        }


class Deployer(ABC):
    """Runs an :class:`~groot_sdk.embodiment.Embodiment` under a policy until told to stop.

    Whatever happens inside ``run`` (policy timeout, device fault, Ctrl-C), it returns with the
    actuators in their safe state and reports why it stopped.
    """

    @abstractmethod
    def run(self) -> RunReport: ...

    @abstractmethod
    def stop(self, reason: str = "requested") -> None:
        """Ask a running loop to end (thread-safe); it then stops safely."""


class StepRecorder(Protocol):
    """Receives what the deployer saw and did at each policy step (e.g. a dataset writer).

    Implementations must not block the loop: copy and hand off to another thread.
    """

    def start_episode(self, task: str) -> None: ...

    def add_step(
        self,
        frames: Mapping[str, np.ndarray],
        state: np.ndarray,
        action: np.ndarray,
        timestamp: float,
    ) -> None:
        """``frames``: camera name -> uint8 (H, W, 3) RGB at model resolution;
        ``state``: the spec's state vector; ``action``: the joint-order command sent."""

    def end_episode(self, success: bool | None = None) -> None: ...

    def close(self) -> None: ...


class EpisodeMonitor(Protocol):
    """Follows a run tick by tick without seeing observations (e.g. an evaluation summing
    rewards): called in the loop thread, so it must be quick."""

    def start_episode(self, episode: int) -> None:
        """After the simulator's reset, before the first tick."""

    def tick(self, t: float, mode: str) -> None:
        """After each tick's setpoint (``mode``: ``"run"`` or ``"hold"``) at control time ``t``."""

    def end_episode(self, success: bool | None) -> None:
        """After the last tick of an episode that finished (not one a stop cut short)."""
