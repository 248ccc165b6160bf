"""What the torch, onnx and tensorrt GR00T N1.7 backends share: checkpoint -> processor,
observation -> inputs -> actions -> ``action.<key>`` chunks (relative groups made absolute with
the observation's state), seeded noise, warm-up, a synthetic observation for benchmarks."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import ModalityError
from groot_sdk.models.common.runtime import GrootBackend, choose_tag_from
from groot_sdk.models.gr00t_n15.loading import resolve_checkpoint
from groot_sdk.models.gr00t_n17.loading import CHECKPOINT_PATTERNS, load_config
from groot_sdk.models.gr00t_n17.processing import (
    Gr00tN17Processor,
    ModelInputs,
    build_processor,
    embodiment_tags,
)


def choose_tag(directory: Path, requested: str | None, spec: Any) -> str:
    """The option wins; else the only tag of processor_config.json; else the spec's tag."""
    return choose_tag_from(directory, requested, spec, embodiment_tags)


def synthetic_observation(
    processor: Gr00tN17Processor, seed: int = 0, batch: int | None = None
) -> dict[str, Any]:
    """A plausible observation (random 480x640 pixels, state inside the statistics)."""
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    meta = processor.metadata
    obs: dict[str, Any] = {}
    for name in meta.video:
        obs[f"video.{name}"] = rng.integers(0, 256, (*lead, 1, 480, 640, 3), dtype=np.uint8)
    for kd in meta.state:
        stats = meta.stats("state", kd.key)
        lo = stats.get("min", np.full(kd.dim, -1.0, np.float32))
        hi = stats.get("max", np.full(kd.dim, 1.0, np.float32))
        obs[f"state.{kd.key}"] = rng.uniform(lo, hi, (*lead, 1, kd.dim)).astype(np.float32)
    obs[processor.language_key] = ["pick up the cube"] * (batch or 1)
    return obs


class Gr00tN17Backend(GrootBackend):
    """Base of the GR00T N1.7 backends: subclasses implement :meth:`infer`."""

    model_name = "GR00T N1.7"

    def __init__(
        self,
        spec: Any,
        checkpoint: str | Path,
        embodiment_tag: str | None = None,
        tokenizer: str | Path | None = None,
        seed: int | None = None,
        batched: bool = False,
        warmup: int = 0,
        local_files_only: bool | None = None,
        embodiment_id: int | None = None,
        normalization: Any = None,
        clip_actions: Any = None,
    ) -> None:
        if normalization not in (None, "", "checkpoint"):
            raise ModalityError(
                "GR00T N1.7 normalises as its processor_config.json says (min/max or "
                "q01/q99, clipped); the normalization option is for N1.5"
            )
        self.spec = spec
        self.directory = resolve_checkpoint(
            checkpoint, local_files_only=local_files_only, allow_patterns=CHECKPOINT_PATTERNS
        )
        self.config = load_config(self.directory)
        self.embodiment_tag = choose_tag(self.directory, embodiment_tag, spec)
        tok_dir = (
            resolve_checkpoint(tokenizer, local_files_only=True) if tokenizer is not None else None
        )
        self.processor = build_processor(
            self.directory, self.config, self.embodiment_tag, tok_dir, embodiment_id
        )
        self.seed = seed
        self._init_sampling(batched, warmup)

    @property
    def noise_shape(self) -> tuple[int, int]:
        return (int(self.config.action_horizon), int(self.config.max_action_dim))

    def synthetic_observation(self, seed: int = 0) -> dict[str, Any]:
        return synthetic_observation(self.processor, seed, 2 if self.batched else None)

    @abstractmethod
    def infer(self, inputs: ModelInputs, noise: np.ndarray) -> np.ndarray:
        """Normalised actions (B, action_horizon, max_action_dim)."""

    def _warmup_observation(self) -> dict[str, Any]:
        return synthetic_observation(self.processor)
