"""GR00T N1.6 behind the SDK's ``torch``, ``onnx`` and ``tensorrt`` backends.

``groot_sdk.policy.gr00t_versions`` sends here every checkpoint whose ``config.json`` says
``model_type: Gr00tN1d6`` and every export whose ``groot_onnx.json`` says ``groot-n1.6-onnx``.
Options are N1.5's: ``seed``, ``dtype``, ``device``, ``compile``, ``threads``, ``warmup``,
``batched``, ``embodiment_tag``, ``embodiment_id``, ``tokenizer``, ``normalization``
(``min_max``/``q99`` override the checkpoint's ``use_percentiles``), ``denoising_steps``
(torch), ``providers`` (onnx), ``camera_size`` (the frame size the layout advertises).
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
from groot_sdk.models.gr00t_n16.export import FORMAT, MANIFEST, export_onnx
from groot_sdk.models.gr00t_n16.runtime import Gr00tN16Backend
from groot_sdk.models.gr00t_n16.tensorrt import build_engines

__all__ = ["build_engines", "create", "export_onnx"]


class TorchGr00tN16(TorchModelMixin, Gr00tN16Backend):
    """GR00T N1.6 through :class:`groot_sdk.models.gr00t_n16.Gr00tN1d6` (CPU or CUDA)."""

    def __init__(
        self,
        spec: Any,
        checkpoint: str | Path,
        device: str = "cpu",
        dtype: str = "float32",
        compile: bool = False,
        denoising_steps: int | None = None,
        threads: int | None = None,
        **rest: Any,
    ) -> None:
        set_torch_threads(threads)
        import groot_sdk.models  # noqa: F401  (registers Gr00tN1d6 with transformers)
        from groot_sdk.models.gr00t_n16.loading import load_model

        rest.pop("onednn", None)  # N1.5's MKL/oneDNN switch; N1.6 keeps torch's default
        super().__init__(spec, checkpoint, **rest)
        compiled = str(compile).lower() in ("true", "1", "yes")
        self._load_torch_model(
            load_model, device, dtype, compiled, denoising_steps, use_onednn=False
        )
        self.warm_up()

    def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
        return self._call_model(
            (inputs.pixel_values, True),
            (inputs.input_ids, False),
            (inputs.attention_mask, False),
            (inputs.state, True),
            (inputs.embodiment_id, False),
            (noise, True),
        )


def _manifest(directory: Path) -> dict[str, Any]:
    file = directory / MANIFEST
    if not file.is_file():
        raise BackendError(
            f"{directory} is not an ONNX export (no {MANIFEST}); run `groot export-onnx` first"
        )
    manifest = json.loads(file.read_text())
    if manifest.get("format") != FORMAT:
        raise BackendError(f"{file}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


class _Exported(Gr00tN16Backend):
    """Shared by the onnx and tensorrt backends: the export's fixed image size is checked."""

    manifest: dict[str, Any]

    def _check_size(self, inputs) -> None:
        want = tuple(self.manifest.get("image_size") or ())
        got = tuple(inputs.pixel_values.shape[2:])
        if want and got != want:
            raise BackendError(
                f"frames reach the encoder at {list(got)} px, the export was traced at {list(want)}"
                ": export again for this camera size"
            )

    def head_feeds(self, inputs, features: Any, noise: np.ndarray) -> dict[str, Any]:
        return {
            "backbone_features": features,
            "attention_mask": inputs.attention_mask,
            "image_mask": self.image_mask(inputs),
            "state": inputs.state,
            "embodiment_id": inputs.embodiment_id,
            "noise": noise,
        }


class OnnxGr00tN16(_Exported):
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
        for unused in ("device", "dtype", "compile", "denoising_steps", "onednn"):
            rest.pop(unused, None)
        super().__init__(spec, checkpoint, **rest)
        self.manifest = _manifest(self.directory)
        graphs = self.manifest["graphs"]
        missing = missing_parts(graphs)
        if missing:
            raise BackendError(f"{self.directory}: the export lacks {missing}")
        self.sessions = ort_sessions(self.directory, graphs, providers, threads)
        self.warm_up()

    def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
        self._check_size(inputs)
        (features,) = self.sessions["backbone"].run(
            None,
            {
                "pixel_values": inputs.pixel_values,
                "input_ids": inputs.input_ids,
                "attention_mask": inputs.attention_mask,
            },
        )
        feeds = self.head_feeds(inputs, features.astype(np.float32), noise)
        names = {i.name for i in self.sessions["action_head"].get_inputs()}
        (actions,) = self.sessions["action_head"].run(
            None, {k: v for k, v in feeds.items() if k in names}
        )
        return actions

    def close(self) -> None:
        self.sessions = {}


class TensorRTGr00tN16(_Exported):
    """Backbone engine, then the whole-loop action-head engine, features kept on the GPU."""

    def __init__(self, spec: Any, checkpoint: str | Path, **rest: Any) -> None:
        require("tensorrt", "tensorrt", "the tensorrt backend")
        from groot_sdk.models.gr00t_n15.tensorrt import EngineRunner

        for unused in ("device", "dtype", "compile", "denoising_steps", "onednn", "threads"):
            rest.pop(unused, None)
        super().__init__(spec, checkpoint, **rest)
        self.manifest = _manifest(self.directory)
        engines = self.manifest.get("engines") or {}
        missing = missing_parts(engines)
        if missing:
            raise BackendError(
                f"{self.directory} has no engines for {missing}: run `groot build-engine`"
            )
        self.runners = {g: EngineRunner(self.directory / engines[g]) for g in engines}
        self.warm_up()

    def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
        self._check_size(inputs)
        features = self.runners["backbone"](
            {
                "pixel_values": inputs.pixel_values,
                "input_ids": inputs.input_ids,
                "attention_mask": inputs.attention_mask,
            }
        )["backbone_features"]
        feeds = self.head_feeds(inputs, features, noise)
        runner = self.runners["action_head"]
        actions = runner({k: v for k, v in feeds.items() if k in runner.inputs})["actions"]
        return actions.float().cpu().numpy()

    def close(self) -> None:
        self.runners = {}


_KINDS = {"torch": TorchGr00tN16, "onnx": OnnxGr00tN16, "tensorrt": TensorRTGr00tN16}


def create(kind: str, spec: Any, checkpoint: str | Path, **options: Any) -> Gr00tN16Backend:
    """The ``kind`` (torch/onnx/tensorrt) GR00T N1.6 backend for ``checkpoint``."""
    if kind not in _KINDS:
        raise BackendError(f"GR00T N1.6 has no '{kind}' backend (known: {sorted(_KINDS)})")
    options.pop("clip_actions", None)  # GR00T N1.6 always clips before unnormalising
    return _KINDS[kind](spec, checkpoint, **options)
