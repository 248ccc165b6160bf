"""GR00T N1.7 behind the SDK's ``torch``, ``onnx`` and ``tensorrt`` backends.

:mod:`groot_sdk.policy.gr00t_versions` sends a checkpoint whose ``config.json`` says
``Gr00tN1d7`` (or an export whose manifest says ``groot-n1.7-onnx``) here: :func:`create` builds
the backend, :func:`export_onnx` and :func:`build_engines` serve ``groot export-onnx`` and
``groot build-engine``. Options are N1.5's (``device``, ``dtype``, ``compile``, ``threads``, ``onednn``,
``seed``, ``warmup``, ``batched``, ``embodiment_tag``, ``embodiment_id``, ``tokenizer``,
``denoising_steps``, ``providers``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import BackendError, require
from groot_sdk.models.common.backends import (
    TorchModelMixin,
    missing_parts,
    ort_sessions,
    set_torch_threads,
)
from groot_sdk.models.gr00t_n17.export import FORMAT, MANIFEST, export_onnx
from groot_sdk.models.gr00t_n17.runtime import Gr00tN17Backend

__all__ = ["build_engines", "create", "export_onnx"]


class TorchGr00tN17(TorchModelMixin, Gr00tN17Backend):
    """GR00T N1.7 through :class:`groot_sdk.models.gr00t_n17.GR00TN17`."""

    def __init__(
        self,
        spec: Any,
        checkpoint: str | Path,
        device: str = "cpu",
        dtype: str = "float32",
        compile: bool = False,
        denoising_steps: int | None = None,
        threads: int | None = None,
        onednn: Any = None,
        **rest: Any,
    ) -> None:
        set_torch_threads(threads)
        import groot_sdk.models  # noqa: F401  (registers Gr00tN1d7 with transformers)
        from groot_sdk.models.gr00t_n17.loading import load_model

        super().__init__(spec, checkpoint, **rest)
        self._load_torch_model(load_model, device, dtype, compile, denoising_steps, onednn)
        self.warm_up()

    def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
        return self._call_model(
            (inputs.pixel_values, True),
            (inputs.input_ids, False),
            (inputs.attention_mask, False),
            (inputs.position_ids, False),
            (inputs.state, True),
            (inputs.embodiment_id, False),
            (noise, True),
        )


def _manifest(directory: Path, need: str) -> dict[str, Any]:
    file = directory / MANIFEST
    if not file.is_file():
        raise BackendError(
            f"{directory} is not an ONNX export (no {MANIFEST}); "
            "run `groot export-onnx CHECKPOINT OUT_DIR` first"
        )
    manifest = json.loads(file.read_text())
    if manifest.get("format") != FORMAT:
        raise BackendError(f"{file}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    missing = missing_parts(manifest.get(need))
    if missing:
        hint = "run `groot build-engine`" if need == "engines" else "re-export both parts"
        raise BackendError(f"{directory}: the export lacks {need} for {missing}: {hint}")
    return manifest


class OnnxGr00tN17(Gr00tN17Backend):
    """The backbone and the whole denoising loop as two ONNX Runtime sessions."""

    def __init__(
        self,
        spec: Any,
        checkpoint: str | Path,
        providers: str | None = None,
        threads: int | None = None,
        **rest: Any,
    ) -> None:
        require("onnxruntime", "onnx", "the onnx backend")
        manifest = _manifest(Path(checkpoint), "graphs")
        rest.setdefault("embodiment_tag", manifest.get("embodiment_tag"))
        super().__init__(spec, checkpoint, **rest)
        self.sessions = ort_sessions(self.directory, manifest["graphs"], providers, threads)
        self.warm_up()

    def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
        (features,) = self.sessions["backbone"].run(
            None,
            {
                "pixel_values": inputs.pixel_values,
                "input_ids": inputs.input_ids,
                "attention_mask": inputs.attention_mask,
                "position_ids": inputs.position_ids,
            },
        )
        (actions,) = self.sessions["action_head"].run(
            None,
            {
                "backbone_features": features.astype(np.float32),
                "input_ids": inputs.input_ids,
                "attention_mask": inputs.attention_mask,
                "state": inputs.state,
                "embodiment_id": inputs.embodiment_id,
                "noise": noise,
            },
        )
        return actions

    def close(self) -> None:
        self.sessions = {}


class TensorRTGr00tN17(Gr00tN17Backend):
    """Backbone engine, then the whole-loop action-head engine, features kept on the GPU."""

    def __init__(self, spec: Any, checkpoint: str | Path, **rest: Any) -> None:
        from groot_sdk.models.gr00t_n15.tensorrt import EngineRunner

        manifest = _manifest(Path(checkpoint), "engines")
        rest.setdefault("embodiment_tag", manifest.get("embodiment_tag"))
        super().__init__(spec, checkpoint, **rest)
        self.runners = {g: EngineRunner(self.directory / f) for g, f in manifest["engines"].items()}
        self.warm_up()

    def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
        features = self.runners["backbone"](
            {
                "pixel_values": inputs.pixel_values,
                "input_ids": inputs.input_ids,
                "attention_mask": inputs.attention_mask,
                "position_ids": inputs.position_ids,
            }
        )["backbone_features"]
        actions = self.runners["action_head"](
            {
                "backbone_features": features,
                "input_ids": inputs.input_ids,
                "attention_mask": inputs.attention_mask,
                "state": inputs.state,
                "embodiment_id": inputs.embodiment_id,
                "noise": noise,
            }
        )["actions"]
        return actions.float().cpu().numpy()

    def close(self) -> None:
        self.runners = {}


_KINDS = {"torch": TorchGr00tN17, "onnx": OnnxGr00tN17, "tensorrt": TensorRTGr00tN17}


def create(kind: str, spec: Any, checkpoint: str | Path, **options: Any) -> Gr00tN17Backend:
    """The ``kind`` backend (torch/onnx/tensorrt) for an N1.7 checkpoint or export."""
    if kind not in _KINDS:
        raise BackendError(f"GR00T N1.7 has no '{kind}' backend (known: {sorted(_KINDS)})")
    options = {k: v for k, v in options.items() if v is not None or k == "seed"}
    return _KINDS[kind](spec, checkpoint, **options)


def _shapes(config: Any, processor: Any, max_batch: int, max_seq: int, opt_seq: int):
    """min/opt/max shape per graph input."""
    views = max(1, len(processor.metadata.video)) * processor.metadata.video_frames
    patches = processor.tokens_per_image * processor.merge**2
    pdim = 3 * processor.temporal * processor.patch**2
    feat = int(config.backbone_embedding_dim)
    h, d, s = processor.model_horizon, processor.max_action_dim, processor.max_state_dim
    seq = {"input_ids": ((1, 1), (1, opt_seq), (max_batch, max_seq))}
    seq["attention_mask"] = seq["input_ids"]
    return {
        "backbone": {
            "pixel_values": (
                (1, patches, pdim),
                (views, patches, pdim),
                (max_batch * views, patches, pdim),
            ),
            **seq,
            "position_ids": ((3, 1, 1), (3, 1, opt_seq), (3, max_batch, max_seq)),
        },
        "action_head": {
            "backbone_features": ((1, 1, feat), (1, opt_seq, feat), (max_batch, max_seq, feat)),
            **seq,
            "state": ((1, 1, s), (1, 1, s), (max_batch, 1, s)),
            "embodiment_id": ((1,), (1,), (max_batch,)),
            "noise": ((1, h, d), (1, h, d), (max_batch, h, d)),
        },
    }


def build_engines(
    onnx_dir: str | Path,
    precision: str = "fp16",
    max_batch: int = 4,
    max_seq: int = 1024,
    workspace_gib: float = 8.0,
) -> dict[str, Path]:
    """Build one TensorRT engine per exported graph; returns {graph: engine path}."""
    trt = require("tensorrt", "tensorrt", "building TensorRT engines")
    from groot_sdk.models.gr00t_n15.tensorrt import compile_engines
    from groot_sdk.models.gr00t_n17.loading import load_config
    from groot_sdk.models.gr00t_n17.processing import build_processor
    from groot_sdk.models.gr00t_n17.runtime import synthetic_observation

    directory = Path(onnx_dir)
    manifest = _manifest(directory, "graphs")
    config = load_config(directory)
    processor = build_processor(directory, config, manifest.get("embodiment_tag"))
    opt_seq = int(processor(synthetic_observation(processor)).input_ids.shape[1])
    shapes = _shapes(config, processor, max_batch, max(max_seq, opt_seq), opt_seq)
    return compile_engines(
        trt, directory, manifest, shapes, precision, workspace_gib, log_builds=False
    )
