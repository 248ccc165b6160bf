"""TensorRT engines from a GR00T N1.6 ``groot export-onnx`` directory.

One optimisation profile per graph: batch 1..``max_batch``, prompt length 1..``max_seq``, the
export's image size; ``timing.cache`` is kept beside the engines. Running them is N1.5's
:class:`~groot_sdk.models.gr00t_n15.tensorrt.EngineRunner` (torch CUDA tensors as buffers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from groot_sdk.errors import require


def profile_shapes(
    manifest: dict[str, Any],
    config: Any,
    processor: Any,
    max_batch: int,
    max_seq: int,
    opt_seq: int,
) -> dict[str, dict[str, tuple[tuple[int, ...], ...]]]:
    """min/opt/max shape per graph input."""
    h, w = manifest["image_size"]
    views = max(1, len(processor.metadata.video))
    feat = int(config.backbone_embedding_dim)
    hor, d, s = processor.model_horizon, processor.max_action_dim, processor.max_state_dim
    seq = ((1, 1), (1, opt_seq), (max_batch, max_seq))
    return {
        "backbone": {
            "pixel_values": ((1, 3, h, w), (views, 3, h, w), (max_batch * views, 3, h, w)),
            "input_ids": seq,
            "attention_mask": seq,
        },
        "action_head": {
            "backbone_features": ((1, 1, feat), (1, opt_seq, feat), (max_batch, max_seq, feat)),
            "attention_mask": seq,
            "image_mask": seq,
            "state": ((1, 1, s), (1, 1, s), (max_batch, 1, s)),
            "embodiment_id": ((1,), (1,), (max_batch,)),
            "noise": ((1, hor, d), (1, hor, d), (max_batch, hor, d)),
        },
    }


def build_engines(
    onnx_dir: str | Path,
    precision: str = "fp16",
    max_batch: int = 4,
    max_seq: int = 1024,
    workspace_gib: float = 8.0,
) -> dict[str, Path]:
    """Build one engine per exported graph; returns {graph: engine path}."""
    trt = require("tensorrt", "tensorrt", "building TensorRT engines")
    from groot_sdk.models.gr00t_n15.tensorrt import compile_engines
    from groot_sdk.models.gr00t_n16.export import MANIFEST
    from groot_sdk.models.gr00t_n16.loading import load_config
    from groot_sdk.models.gr00t_n16.processing import build_processor
    from groot_sdk.models.gr00t_n16.runtime import synthetic_observation

    if precision not in ("fp16", "bf16", "fp32"):
        raise ValueError(f"precision '{precision}' is not fp16, bf16 or fp32")
    directory = Path(onnx_dir)
    manifest = json.loads((directory / MANIFEST).read_text())
    config = load_config(directory)
    processor = build_processor(directory, config, manifest.get("embodiment_tag"))
    size = tuple(manifest["image_size"])
    processor.camera_size = size  # a frame of the traced size stays that size
    opt_seq = int(processor(synthetic_observation(processor)).input_ids.shape[1])
    shapes = profile_shapes(manifest, config, processor, max_batch, max(max_seq, opt_seq), opt_seq)
    return compile_engines(
        trt, directory, manifest, shapes, precision, workspace_gib, present_inputs_only=True
    )
