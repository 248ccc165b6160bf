"""``tensorrt``: GR00T N1.5 engines built by ``groot build-engine``, on a CUDA GPU.

Options: ``checkpoint`` (the export directory holding ``*.engine``; required), and the shared
ones (``embodiment_tag``, ``seed``, ``warmup``, ``batched``, ``normalization``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import BackendError, require


def create(spec: Any = None, checkpoint: str | Path | None = None, **options: Any):
    """Factory for the ``tensorrt`` backend entry."""
    require("tensorrt", "tensorrt", "the tensorrt backend")
    require("torch", "torch", "GR00T N1.5 pre-processing and CUDA buffers")
    require("transformers", "torch", "GR00T N1.5 pre-processing")
    from groot_sdk.models.common.backends import missing_parts
    from groot_sdk.models.gr00t_n15.export import MANIFEST
    from groot_sdk.models.gr00t_n15.runtime import Gr00tN15Backend
    from groot_sdk.models.gr00t_n15.tensorrt import EngineRunner

    if checkpoint is None:
        raise BackendError("the tensorrt backend needs checkpoint=EXPORT_DIR (groot build-engine)")
    from groot_sdk.policy.gr00t_versions import detect, implementation

    exported = (Path(checkpoint) / MANIFEST).is_file()
    version = detect(Path(checkpoint)) if exported else "n1.5"  # N1.5 explains what is missing
    if version != "n1.5":
        return implementation(version).create("tensorrt", spec, Path(checkpoint), **options)

    class TensorRTGr00tN15(Gr00tN15Backend):
        """Backbone engine, then the whole-loop action-head engine, features kept on the GPU."""

        def __init__(self, spec: Any, checkpoint: str | Path, **rest: Any) -> None:
            super().__init__(spec, checkpoint, **rest)
            manifest = json.loads((self.directory / MANIFEST).read_text())
            engines = manifest.get("engines") or {}
            missing = missing_parts(engines)
            if missing:
                raise BackendError(
                    f"{self.directory} has no engines for {missing}: run `groot build-engine`"
                )
            self.runners = {g: EngineRunner(self.directory / engines[g]) for g in engines}
            self.warm_up()

        def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
            features = self.runners["backbone"](
                {
                    "pixel_values": inputs.pixel_values,
                    "input_ids": inputs.input_ids,
                    "attention_mask": inputs.attention_mask,
                }
            )["backbone_features"]
            actions = self.runners["action_head"](
                {
                    "backbone_features": features,
                    "state": inputs.state,
                    "embodiment_id": inputs.embodiment_id,
                    "noise": noise,
                }
            )["actions"]
            return actions.float().cpu().numpy()

        def close(self) -> None:
            self.runners = {}

    return TensorRTGr00tN15(spec, checkpoint, **options)
