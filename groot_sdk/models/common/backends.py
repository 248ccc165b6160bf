"""Pieces of the torch and onnx backends that every GR00T version builds the same way:
torch threads/device/dtype/oneDNN/compile set-up, numpy -> torch calls, ONNX Runtime sessions.

What differs between versions (the forward's inputs, whether oneDNN applies, how ``compile``
is parsed) is passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: ``dtype`` option -> torch dtype name
DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16"}


def set_torch_threads(threads: Any) -> None:
    """``threads`` is process-wide: torch has one intra-op pool."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))


class TorchModelMixin:
    """A native torch GR00T model on one device/dtype, called with numpy inputs."""

    directory: Path
    device: Any
    dtype: Any
    model: Any
    onednn_layers: int
    _forward: Callable[..., Any]

    def _load_torch_model(
        self,
        load_model: Callable[..., Any],
        device: str,
        dtype: Any,
        compile: bool,
        denoising_steps: int | None,
        onednn: Any = None,
        use_onednn: bool = True,
    ) -> None:
        """Load the model, then oneDNN Linear layers (if ``use_onednn``), denoising steps, compile.

        ``onednn=None``: on for CPU float32 without ``compile`` (N1.5's measured rule).
        """
        import torch

        if str(dtype) not in DTYPES:
            raise ValueError(f"dtype '{dtype}' is not one of {sorted(DTYPES)}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.dtype = getattr(torch, DTYPES[str(dtype)])
        self.model = load_model(self.directory, device=self.device, dtype=self.dtype)
        if use_onednn:
            if onednn is None:
                onednn = self.device.type == "cpu" and dtype in ("float32", "fp32") and not compile
            self.onednn_layers = 0
            if str(onednn).lower() not in ("false", "0", "no", "off"):
                from groot_sdk.models.gr00t_n15.onednn import use_onednn_linear

                self.onednn_layers = use_onednn_linear(self.model)
        if denoising_steps:
            self.model.action_head.num_inference_timesteps = int(denoising_steps)
        self._forward = self.model.get_action
        if compile:
            self._forward = torch.compile(self.model.get_action)

    def _call_model(self, *args: tuple[np.ndarray, bool]) -> np.ndarray:
        """``self._forward`` on (array, cast to the model dtype?) pairs; float32 numpy out."""
        import torch

        def t(x: np.ndarray, cast: bool) -> torch.Tensor:
            tensor = torch.from_numpy(np.ascontiguousarray(x)).to(self.device)
            return tensor.to(self.dtype) if cast else tensor

        with torch.inference_mode():
            out = self._forward(*(t(x, cast) for x, cast in args))
        return out.float().cpu().numpy()

    def close(self) -> None:
        self.model = None


def missing_parts(parts: Mapping[str, Any] | None) -> list[str]:
    """Which of the two graphs (backbone, action head) an export's table lacks."""
    return [g for g in ("backbone", "action_head") if g not in (parts or {})]


def ort_sessions(
    directory: Path,
    graphs: Mapping[str, str],
    providers: str | None,
    threads: Any,
    names: Iterable[str] = ("backbone", "action_head"),
) -> dict[str, Any]:
    """One ONNX Runtime session per graph; ``providers`` comma-separated (default CPU)."""
    from groot_sdk.errors import require

    ort = require("onnxruntime", "onnx", "the onnx backend")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
    prov: Sequence[str] = providers.split(",") if providers else ["CPUExecutionProvider"]
    return {
        name: ort.InferenceSession(str(directory / graphs[name]), sess_options=opts, providers=prov)
        for name in names
    }
