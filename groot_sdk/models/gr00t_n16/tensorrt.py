"""TensorRT engines from a GR00T N1.6 ``groot export-onnx`` directory.

One optimisation profile per graph: batch 1..``max_batch``, prompt length 1..``max_seq``, the
export's image size; ``timing.cache`` is kept beside the engines. Running them is N1.5's
:class:`~groot_sdk.models.gr00t_n15.tensorrt.EngineRunner` (torch CUDA tensors as buffers).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from groot_sdk.errors import BackendError, require

log = logging.getLogger(__name__)


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
    logger = trt.Logger(trt.Logger.WARNING)
    cache_file = directory / "timing.cache"
    engines: dict[str, Path] = {}
    for graph, file in manifest["graphs"].items():
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(str(directory / file)):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise BackendError(f"TensorRT cannot parse {file}: {errors}")
        cfg = builder.create_builder_config()
        cfg.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
        if precision == "fp16":
            cfg.set_flag(trt.BuilderFlag.FP16)
        elif precision == "bf16":
            cfg.set_flag(trt.BuilderFlag.BF16)
        cache = cfg.create_timing_cache(cache_file.read_bytes() if cache_file.is_file() else b"")
        cfg.set_timing_cache(cache, ignore_mismatch=False)
        profile = builder.create_optimization_profile()
        names = {network.get_input(i).name for i in range(network.num_inputs)}
        for name, (lo, opt, hi) in shapes[graph].items():
            if name in names:  # the exporter drops inputs a graph does not read
                profile.set_shape(name, lo, opt, hi)
        cfg.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, cfg)
        if serialized is None:
            raise BackendError(f"TensorRT failed to build an engine for {file}")
        out = directory / f"{graph}.engine"
        out.write_bytes(bytes(serialized))
        cache_file.write_bytes(bytes(cfg.get_timing_cache().serialize()))
        engines[graph] = out
        log.info("built %s (%s)", out, precision)
    manifest["engines"] = {g: p.name for g, p in engines.items()}
    manifest["engine_precision"] = precision
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return engines
