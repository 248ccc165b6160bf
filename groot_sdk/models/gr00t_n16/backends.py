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
from groot_sdk.models.gr00t_n16.export import FORMAT, MANIFEST, export_onnx
from groot_sdk.models.gr00t_n16.runtime import Gr00tN16Backend
from groot_sdk.models.gr00t_n16.tensorrt import build_engines

__all__ = ["build_engines", "create", "export_onnx"]

_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16"}


class TorchGr00tN16(Gr00tN16Backend):
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
        import torch

        if threads:  # process-wide: torch has one intra-op pool
            torch.set_num_threads(int(threads))
        import groot_sdk.models  # noqa: F401  (registers Gr00tN1d6 with transformers)
        from groot_sdk.models.gr00t_n16.loading import load_model

        rest.pop("onednn", None)  # N1.5's MKL/oneDNN switch; N1.6 keeps torch's default
        super().__init__(spec, checkpoint, **rest)
        if str(dtype) not in _DTYPES:
            raise ValueError(f"dtype '{dtype}' is not one of {sorted(_DTYPES)}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.dtype = getattr(torch, _DTYPES[str(dtype)])
        self.model = load_model(self.directory, device=self.device, dtype=self.dtype)
        if denoising_steps:
            self.model.action_head.num_inference_timesteps = int(denoising_steps)
        self._forward = self.model.get_action
        if str(compile).lower() in ("true", "1", "yes"):
            self._forward = torch.compile(self.model.get_action)
        self.warm_up()

    def infer(self, inputs, noise: np.ndarray) -> np.ndarray:
        import torch

        def t(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(x)).to(self.device)

        with torch.inference_mode():
            out = self._forward(
                t(inputs.pixel_values).to(self.dtype),
                t(inputs.input_ids),
                t(inputs.attention_mask),
                t(inputs.state).to(self.dtype),
                t(inputs.embodiment_id),
                t(noise).to(self.dtype),
            )
        return out.float().cpu().numpy()

    def close(self) -> None:
        self.model = None


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
        ort = require("onnxruntime", "onnx", "the onnx backend")
        for unused in ("device", "dtype", "compile", "denoising_steps", "onednn"):
            rest.pop(unused, None)
        super().__init__(spec, checkpoint, **rest)
        self.manifest = _manifest(self.directory)
        graphs = self.manifest["graphs"]
        missing = [g for g in ("backbone", "action_head") if g not in graphs]
        if missing:
            raise BackendError(f"{self.directory}: the export lacks {missing}")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        prov = providers.split(",") if providers else ["CPUExecutionProvider"]
        self.sessions = {
            g: ort.InferenceSession(
                str(self.directory / graphs[g]), sess_options=opts, providers=prov
            )
            for g in ("backbone", "action_head")
        }
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
        missing = [g for g in ("backbone", "action_head") if g not in engines]
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
