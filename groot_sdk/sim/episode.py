"""Episodes of a simulated task: seeded reset, success, and when the episode is over."""

from __future__ import annotations

import numpy as np

from groot_sdk.sim.world import MujocoWorld


class SimEpisode:
    """Implements :class:`groot_sdk.embodiment.Episodic` for a :class:`MujocoWorld`.

    ``max_steps`` counts policy steps (``policy_dt`` each); :meth:`done` turns true once that
    much sim time has passed, or when :meth:`failed` says the episode cannot go on (a fall).
    Subclasses implement :meth:`_reset` (place things using ``rng``) and :meth:`success`.
    """

    def __init__(
        self,
        world: MujocoWorld,
        *,
        policy_dt: float,
        max_steps: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.world = world
        self.policy_dt = float(policy_dt)
        self.max_steps = max_steps
        self.seed = seed
        self.episodes = 0
        self.rng = np.random.default_rng(seed)
        self.instruction = ""  #: the language instruction for the current episode ("" if none)

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; with a seed it is reproducible, without one it varies."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._reset(self.rng)
        self.episodes += 1

    def _reset(self, rng: np.random.Generator) -> None:
        self.world.reset()

    @property
    def time(self) -> float:
        return self.world.time

    @property
    def policy_steps(self) -> int:
        """Policy steps elapsed in this episode (sim time / policy_dt)."""
        return int(self.world.time / self.policy_dt + 1e-9)

    def success(self) -> bool | None:
        return None

    def failed(self) -> bool:
        return False

    def done(self) -> bool:
        if self.failed():
            return True
        return self.max_steps is not None and self.policy_steps >= self.max_steps
