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

    from groot_sdk.models.common.backends import TorchModelMixin, set_torch_threads

    class TorchGr00tN15(TorchModelMixin, Gr00tN15Backend):
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
            set_torch_threads(threads)

            import groot_sdk.models  # noqa: F401  (registers gr00t_n1_5 with transformers)
            from groot_sdk.models.gr00t_n15.loading import load_model

            super().__init__(spec, checkpoint, **rest)
            device = _device(device)
            self._load_torch_model(load_model, device, dtype, compile, denoising_steps, onednn)
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

    return TorchGr00tN15(spec, checkpoint, **options)
