"""``onnx``: GR00T N1.5 exported by ``groot export-onnx``, run with ONNX Runtime.

Options: ``checkpoint`` (the export directory; required), ``providers`` (comma-separated ONNX
Runtime execution providers, default CPU), ``threads`` (intra-op threads), plus the shared ones
(``embodiment_tag``, ``seed``, ``warmup``, ``batched``, ``normalization``). Pre/post-processing
is the torch backend's (it uses torch on CPU for image resizing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import BackendError, require


def create(spec: Any = None, checkpoint: str | Path | None = None, **options: Any):
    """Factory for the ``onnx`` backend entry."""
    require("onnxruntime", "onnx", "the onnx backend")
    require("torch", "torch", "GR00T N1.5 pre-processing")
    require("transformers", "torch", "GR00T N1.5 pre-processing")
    from groot_sdk.models.common.backends import missing_parts, ort_sessions
    from groot_sdk.models.gr00t_n15.export import MANIFEST
    from groot_sdk.models.gr00t_n15.runtime import Gr00tN15Backend

    if checkpoint is None:
        raise BackendError("the onnx backend needs checkpoint=EXPORT_DIR (groot export-onnx)")
    from groot_sdk.policy.gr00t_versions import detect, implementation

    exported = (Path(checkpoint) / MANIFEST).is_file()
    version = detect(Path(checkpoint)) if exported else "n1.5"  # N1.5 explains what is missing
    if version != "n1.5":
        return implementation(version).create("onnx", spec, Path(checkpoint), **options)

    class OnnxGr00tN15(Gr00tN15Backend):
        """The backbone and the whole denoising loop as two ONNX Runtime sessions."""

        def __init__(
            self,
            spec: Any,
            checkpoint: str | Path,
            providers: str | None = None,
            threads: int | None = None,
            **rest: Any,
        ) -> None:
            super().__init__(spec, checkpoint, **rest)
            manifest_file = self.directory / MANIFEST
            if not manifest_file.is_file():
                raise BackendError(
                    f"{self.directory} is not an ONNX export (no {MANIFEST}); "
                    "run `groot export-onnx CHECKPOINT OUT_DIR` first"
                )
            manifest = json.loads(manifest_file.read_text())
            graphs = manifest["graphs"]
            missing = missing_parts(graphs)
            if missing:
                raise BackendError(f"{self.directory}: the export lacks {missing}")
            self.sessions = ort_sessions(self.directory, graphs, providers, threads)
            self.warm_up()

        def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
            (features,) = self.sessions["backbone"].run(
                None,
                {
                    "pixel_values": inputs.pixel_values,
                    "input_ids": inputs.input_ids,
                    "attention_mask": inputs.attention_mask,
                },
            )
            (actions,) = self.sessions["action_head"].run(
                None,
                {
                    "backbone_features": features.astype(np.float32),
                    "state": inputs.state,
                    "embodiment_id": inputs.embodiment_id,
                    "noise": noise,
                },
            )
            return actions

        def close(self) -> None:
            self.sessions = {}

    return OnnxGr00tN15(spec, checkpoint, **options)
