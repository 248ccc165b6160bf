"""What the torch, onnx and tensorrt GR00T N1.5 backends share: checkpoint -> processor,
observation -> inputs -> actions -> ``action.<key>`` chunks, seeded noise, warm-up."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import ModalityError
from groot_sdk.models.common.runtime import GrootBackend
from groot_sdk.models.gr00t_n15.loading import load_config, resolve_checkpoint
from groot_sdk.models.gr00t_n15.processing import (
    Gr00tN15Processor,
    ModelInputs,
    build_processor,
)


def choose_tag(directory: Path, requested: str | None, spec: Any) -> str | None:
    """The option wins; else the only tag in metadata.json; else the spec's tag."""
    if requested:
        return requested
    meta = directory / "experiment_cfg" / "metadata.json"
    tags = list(json.loads(meta.read_text())) if meta.is_file() else []
    if len(tags) == 1:
        return tags[0]
    spec_tag = getattr(spec, "embodiment_tag", None)
    if spec_tag in tags:
        return spec_tag
    raise ModalityError(
        f"checkpoint {directory} has embodiments {tags}: pass embodiment_tag=... to choose one"
    )


def parse_normalization(value: Any) -> Mapping[str, str] | str | None:
    """``"q99"``, a dict, or a JSON object string (from ``--policy-opt``)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        return json.loads(value)
    return value


def synthetic_observation(
    processor: Gr00tN15Processor, seed: int = 0, batch: int | None = None
) -> dict[str, Any]:
    """A plausible observation (random pixels, state inside the statistics) for warm-up/bench."""
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    obs: dict[str, Any] = {}
    for name in processor.metadata.video:
        h, w = processor.metadata.resolution.get(name, (2 * processor.image_size,) * 2)
        obs[f"video.{name}"] = rng.integers(0, 256, (*lead, 1, h, w, 3), dtype=np.uint8)
    for kd in processor.metadata.state:
        stats = processor.metadata.stats("state", kd.key)
        lo = stats.get("min", np.full(kd.dim, -1.0, np.float32))
        hi = stats.get("max", np.full(kd.dim, 1.0, np.float32))
        obs[f"state.{kd.key}"] = rng.uniform(lo, hi, (*lead, 1, kd.dim)).astype(np.float32)
    obs[processor.language_key] = ["pick up the cube"] * (batch or 1)
    return obs


class Gr00tN15Backend(GrootBackend):
    """Base of the GR00T N1.5 backends: subclasses implement :meth:`infer`."""

    model_name = "GR00T N1.5"

    def __init__(
        self,
        spec: Any,
        checkpoint: str | Path,
        embodiment_tag: str | None = None,
        tokenizer: str | Path | None = None,
        normalization: Any = None,
        seed: int | None = None,
        batched: bool = False,
        warmup: int = 0,
        local_files_only: bool | None = None,
        clip_actions: bool = False,
        embodiment_id: int | None = None,
    ) -> None:
        self.spec = spec
        self.directory = resolve_checkpoint(checkpoint, local_files_only=local_files_only)
        self.config = load_config(self.directory)
        tag = choose_tag(self.directory, embodiment_tag, spec)
        tok_dir = (
            resolve_checkpoint(tokenizer, local_files_only=True) if tokenizer is not None else None
        )
        self.processor = build_processor(
            self.directory,
            self.config,
            tag,
            tok_dir,
            parse_normalization(normalization),
            clip_actions=bool(clip_actions),
            embodiment_id=embodiment_id,
        )
        self.seed = seed
        self._init_sampling(batched, warmup)

    @property
    def noise_shape(self) -> tuple[int, int]:
        return (self.processor.action_horizon, self.processor.max_action_dim)

    @abstractmethod
    def infer(self, inputs: ModelInputs, noise: np.ndarray) -> np.ndarray:
        """Normalised actions (B, horizon, max_action_dim)."""

    def _warmup_observation(self) -> dict[str, Any]:
        return synthetic_observation(self.processor)

    def _decode(self, actions: np.ndarray, inputs: Any) -> list[dict[str, np.ndarray]]:
        return self.processor.decode(actions)
