"""The part of a GR00T backend that does not depend on the model version: seeded noise,
observation -> processor -> :meth:`infer` -> decoded ``action.<key>`` chunks, batching, warm-up.

Each version's base (``Gr00tN15Backend``, ``Gr00tN16Backend``, ``Gr00tN17Backend``) builds its
processor, then calls :meth:`GrootBackend._init_sampling`; it names its noise shape, its
synthetic observation and (N1.5) how actions decode.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from groot_sdk.errors import BackendError, ModalityError
from groot_sdk.modality.layout import ModalityLayout
from groot_sdk.policy.backend import ActionChunk, Observation, PolicyBackend

log = logging.getLogger(__name__)


def choose_tag_from(
    directory: Path, requested: str | None, spec: Any, tags_of: Callable[[Path], list[str]]
) -> str:
    """The option wins; else the checkpoint's only tag (``tags_of``); else the spec's tag."""
    if requested:
        return requested
    tags = tags_of(directory)
    if len(tags) == 1:
        return tags[0]
    spec_tag = getattr(spec, "embodiment_tag", None)
    if spec_tag in tags:
        return str(spec_tag)
    raise ModalityError(
        f"checkpoint {directory} has embodiments {tags}: pass embodiment_tag=... to choose one"
    )


class GrootBackend(PolicyBackend):
    """Shared GR00T backend logic; subclasses implement :meth:`infer` and the hooks below."""

    #: named in errors ("GR00T N1.5 produced non-finite actions")
    model_name: ClassVar[str] = "GR00T"

    processor: Any
    seed: int | None
    batched: bool
    warmup_calls: int
    _rng: np.random.Generator

    def _init_sampling(self, batched: Any, warmup: Any) -> None:
        """Noise generator from ``self.seed``, batching and warm-up options."""
        self.batched = bool(batched)
        self._rng = np.random.default_rng(self.seed)
        self.warmup_calls = int(warmup)

    @property
    def layout(self) -> ModalityLayout:
        return self.processor.layout

    @property
    @abstractmethod
    def noise_shape(self) -> tuple[int, int]:
        """(horizon, action dim) of one flow-matching sample."""

    def noise(self, batch: int) -> np.ndarray:
        """Initial flow-matching sample; with ``seed`` every call starts from the same noise."""
        rng = np.random.default_rng(self.seed) if self.seed is not None else self._rng
        return rng.standard_normal((batch, *self.noise_shape)).astype(np.float32)

    @abstractmethod
    def infer(self, inputs: Any, noise: np.ndarray) -> np.ndarray:
        """Normalised actions (B, horizon, max_action_dim)."""

    @abstractmethod
    def _warmup_observation(self) -> dict[str, Any]:
        """One synthetic, unbatched observation for :meth:`warm_up`."""

    def _decode(self, actions: np.ndarray, inputs: Any) -> list[dict[str, np.ndarray]]:
        """Per item ``action.<key>`` chunks; relative keys made absolute with the raw state."""
        return self.processor.decode(actions, inputs.raw_state)

    def _run(self, inputs: Any) -> list[dict[str, np.ndarray]]:
        batch = inputs.state.shape[0]
        actions = np.asarray(self.infer(inputs, self.noise(batch)), np.float32)
        if not np.isfinite(actions).all():
            raise BackendError(f"{self.model_name} produced non-finite actions")
        return self._decode(actions, inputs)

    def get_action(self, observation: Observation) -> ActionChunk:
        chunks = self._run(self.processor(observation, batched=self.batched))
        if not self.batched:
            return chunks[0]
        return {k: np.stack([c[k] for c in chunks]) for k in chunks[0]}

    def get_actions(self, observations: Sequence[Observation]) -> list[ActionChunk]:
        """Several unbatched observations in one forward pass."""
        return self._run(self.processor.collate(observations))

    def warm_up(self, calls: int | None = None) -> None:
        """Run the model on synthetic inputs (first-call allocations, compilation, autotuning)."""
        n = self.warmup_calls if calls is None else calls
        if n <= 0:
            return
        inputs = self.processor(self._warmup_observation())
        for _ in range(n):
            self.infer(inputs, self.noise(1))
        log.info("%s warmed up (%d calls)", type(self).__name__, n)
