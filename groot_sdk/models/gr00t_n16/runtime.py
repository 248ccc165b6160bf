"""What the torch, onnx and tensorrt GR00T N1.6 backends share: checkpoint -> processor,
observation -> inputs -> actions -> ``action.<key>`` chunks (relative keys made absolute with
the observed state), seeded noise, warm-up, synthetic observations."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import ModalityError
from groot_sdk.models.common.runtime import GrootBackend, choose_tag_from
from groot_sdk.models.gr00t_n16.loading import load_config, resolve_checkpoint
from groot_sdk.models.gr00t_n16.processing import (
    Gr00tN16Processor,
    N16Inputs,
    build_processor,
    read_tags,
)

#: ``normalization`` option -> ``use_percentiles`` (None: the checkpoint's processor config)
NORMALIZATION = {"min_max": False, "q99": True, "percentiles": True}


def choose_tag(directory: Path, requested: str | None, spec: Any) -> str:
    """The option wins; else the only embodiment of processor_config.json; else the spec's."""
    return choose_tag_from(directory, requested, spec, read_tags)


def synthetic_observation(
    processor: Gr00tN16Processor, seed: int = 0, batch: int | None = None
) -> dict[str, Any]:
    """A plausible observation (random pixels, state inside the statistics) for warm-up/bench."""
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    h, w = processor.camera_size
    obs: dict[str, Any] = {}
    for name in processor.metadata.video:
        obs[f"video.{name}"] = rng.integers(0, 256, (*lead, 1, h, w, 3), dtype=np.uint8)
    for kd in processor.metadata.state:
        stats = processor.metadata.statistics["state"].get(kd.key, {})
        lo = stats.get("min", np.full(kd.dim, -1.0, np.float32))
        hi = stats.get("max", np.full(kd.dim, 1.0, np.float32))
        obs[f"state.{kd.key}"] = rng.uniform(lo, hi, (*lead, 1, kd.dim)).astype(np.float32)
    obs[processor.language_key] = ["pick up the cube"] * (batch or 1)
    return obs


class Gr00tN16Backend(GrootBackend):
    """Base of the GR00T N1.6 backends: subclasses implement :meth:`infer`."""

    model_name = "GR00T N1.6"

    def __init__(
        self,
        spec: Any,
        checkpoint: str | Path,
        embodiment_tag: str | None = None,
        tokenizer: str | Path | None = None,
        normalization: str | None = None,
        seed: int | None = None,
        batched: bool = False,
        warmup: int = 0,
        local_files_only: bool | None = None,
        embodiment_id: int | None = None,
        camera_size: tuple[int, int] | str | None = None,
    ) -> None:
        self.spec = spec
        self.directory = resolve_checkpoint(checkpoint, local_files_only=local_files_only)
        self.config = load_config(self.directory)
        tag = choose_tag(self.directory, embodiment_tag, spec)
        tok_dir = (
            resolve_checkpoint(tokenizer, local_files_only=True) if tokenizer is not None else None
        )
        if isinstance(camera_size, str):  # "HxW" or "H,W" from --policy-opt
            parts = camera_size.replace("x", ",").split(",")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise ModalityError(f"camera_size '{camera_size}' is not HEIGHTxWIDTH")
            camera_size = (int(parts[0]), int(parts[1]))
        if camera_size is None and spec is not None and getattr(spec, "cameras", None):
            cam = spec.cameras[0]
            camera_size = (int(cam.model_height), int(cam.model_width))
        self.processor = build_processor(
            self.directory,
            self.config,
            tag,
            tok_dir,
            embodiment_id=None if embodiment_id is None else int(embodiment_id),
            camera_size=camera_size,
        )
        if normalization not in (None, "checkpoint"):
            if normalization not in NORMALIZATION:
                raise ModalityError(
                    f"normalization '{normalization}' is not one of {sorted(NORMALIZATION)} "
                    "(GR00T N1.6 normalises per its processor_config.json)"
                )
            self.processor.use_percentiles = NORMALIZATION[str(normalization)]
        self.seed = None if seed is None else int(seed)
        self._init_sampling(batched, warmup)

    @property
    def noise_shape(self) -> tuple[int, int]:
        return (self.processor.model_horizon, self.processor.max_action_dim)

    def image_mask(self, inputs: N16Inputs) -> np.ndarray:
        token = int(self.config.eagle_config["image_token_index"])
        return (inputs.input_ids == token).astype(np.int64)

    @abstractmethod
    def infer(self, inputs: N16Inputs, noise: np.ndarray) -> np.ndarray:
        """Normalised actions (B, model horizon, max_action_dim)."""

    def synthetic_observation(self, seed: int = 0) -> dict[str, Any]:
        """An observation this backend accepts (``groot benchmark``)."""
        return synthetic_observation(self.processor, seed, 1 if self.batched else None)

    def _warmup_observation(self) -> dict[str, Any]:
        return synthetic_observation(self.processor)
