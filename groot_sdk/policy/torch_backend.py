"""``torch``: GR00T N1.5 (N1.6, N1.7: picked from the checkpoint's config) in native torch (CPU or CUDA, float32 or bfloat16).

Options (``--policy-opt``): ``checkpoint`` (directory or hub repo id; required),
``embodiment_tag``, ``embodiment_id`` (projector slot for a tag GR00T does not know), ``device`` (``cpu``/``cuda``/``auto``), ``dtype`` (``float32``/``bfloat16``),
``seed`` (deterministic: every call starts from the same noise), ``compile`` (torch.compile),
``warmup`` (calls at start-up), ``batched``, ``tokenizer`` (a local tokenizer directory),
``normalization`` (a mode or a JSON object per key), ``clip_actions`` (limit the model's
output to [-1, 1] before unnormalising; GR00T does not), ``denoising_steps``, ``threads``
(torch's intra-op threads, process-wide), ``onednn`` (float32 Linear layers on CPU through
oneDNN instead of MKL: 2.2x faster on AMD CPUs, see docs/backends.md; default on for CPU
float32 without ``compile``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import require

log = logging.getLogger(__name__)

_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16"}


def _device(name: str) -> str:
    torch = require("torch", "torch", "the torch backend")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _other_version(kind: str, spec: Any, checkpoint: str | Path, options: dict[str, Any]):
    """An N1.6/N1.7 backend when the checkpoint's config says so, else None (N1.5 below)."""
    from groot_sdk.models.gr00t_n15.loading import resolve_checkpoint
    from groot_sdk.policy.gr00t_versions import detect, implementation

    local = options.get("local_files_only")
    directory = resolve_checkpoint(checkpoint, local_files_only=local)
    version = detect(directory)
    if version == "n1.5":
        return None
    return implementation(version).create(kind, spec, directory, **options)


def create(spec: Any = None, checkpoint: str | Path | None = None, **options: Any):
    """Factory for the ``torch`` backend entry."""
    require("torch", "torch", "the torch backend")
    require("transformers", "torch", "the torch backend")
    from groot_sdk.models.gr00t_n15.runtime import Gr00tN15Backend

    if checkpoint is None:
        from groot_sdk.errors import BackendError

        raise BackendError("the torch backend needs checkpoint=DIR_OR_REPO_ID")
    other = _other_version("torch", spec, checkpoint, options)
    if other is not None:
        return other

    class TorchGr00tN15(Gr00tN15Backend):
        """GR00T N1.5 through :class:`groot_sdk.models.gr00t_n15.GR00TN15`."""

        def __init__(
            self,
            spec: Any,
            checkpoint: str | Path,
            device: str = "cpu",
            dtype: str = "float32",
            compile: bool = False,
            denoising_steps: int | None = None,
            threads: int | None = None,
            onednn: bool | str | None = None,
            **rest: Any,
        ) -> None:
            import torch

            if threads:  # process-wide: torch has one intra-op pool
                torch.set_num_threads(int(threads))

            import groot_sdk.models  # noqa: F401  (registers gr00t_n1_5 with transformers)
            from groot_sdk.models.gr00t_n15.loading import load_model

            super().__init__(spec, checkpoint, **rest)
            if dtype not in _DTYPES:
                raise ValueError(f"dtype '{dtype}' is not one of {sorted(_DTYPES)}")
            self.device = torch.device(_device(device))
            self.dtype = getattr(torch, _DTYPES[dtype])
            self.model = load_model(self.directory, device=self.device, dtype=self.dtype)
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

    return TorchGr00tN15(spec, checkpoint, **options)
