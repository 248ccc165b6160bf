"""TensorRT engines from ``groot export-onnx`` output (the onboard Jetson / GPU path).

``build_engines`` parses ``backbone.onnx`` and ``action_head.onnx`` and writes
``backbone.engine`` and ``action_head.engine`` beside them, with one optimisation profile covering
batch 1..``max_batch`` and prompt length 1..``max_seq``. Precision: ``fp16`` (default), ``bf16``
or ``fp32``; the TensorRT timing cache is kept in ``timing.cache`` so rebuilds are fast.
Engines are specific to the GPU and TensorRT version that built them.

:class:`EngineRunner` runs an engine with torch CUDA tensors as I/O buffers (no pycuda needed).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from groot_sdk.errors import BackendError, require

log = logging.getLogger(__name__)


def _shapes(
    manifest: dict[str, Any],
    config: Any,
    processor: Any,
    max_batch: int,
    max_seq: int,
    opt_seq: int,
) -> dict[str, dict[str, tuple[tuple[int, ...], ...]]]:
    """min/opt/max shape per graph input."""
    size = processor.image_size
    views = max(1, len(processor.metadata.video))
    feat = int(config.action_head_cfg["backbone_embedding_dim"])
    h, d, s = processor.action_horizon, processor.max_action_dim, processor.max_state_dim
    return {
        "backbone": {
            "pixel_values": (
                (1, 3, size, size),
                (views, 3, size, size),
                (max_batch * views, 3, size, size),
            ),
            "input_ids": ((1, 1), (1, opt_seq), (max_batch, max_seq)),
            "attention_mask": ((1, 1), (1, opt_seq), (max_batch, max_seq)),
        },
        "action_head": {
            "backbone_features": ((1, 1, feat), (1, opt_seq, feat), (max_batch, max_seq, feat)),
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
    """Build one engine per exported graph; returns {graph: engine path}."""
    trt = require("tensorrt", "tensorrt", "building TensorRT engines")
    from groot_sdk.models.gr00t_n15.export import MANIFEST
    from groot_sdk.models.gr00t_n15.loading import load_config
    from groot_sdk.models.gr00t_n15.processing import build_processor
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation

    directory = Path(onnx_dir)
    manifest = json.loads((directory / MANIFEST).read_text())
    config = load_config(directory)
    processor = build_processor(directory, config, manifest.get("embodiment_tag"))
    opt_seq = int(processor(synthetic_observation(processor)).input_ids.shape[1])
    shapes = _shapes(manifest, config, processor, max_batch, max(max_seq, opt_seq), opt_seq)
    return compile_engines(trt, directory, manifest, shapes, precision, workspace_gib)


def compile_engines(
    trt: Any,
    directory: Path,
    manifest: dict[str, Any],
    shapes: dict[str, dict[str, tuple[tuple[int, ...], ...]]],
    precision: str,
    workspace_gib: float,
    present_inputs_only: bool = False,
    log_builds: bool = True,
) -> dict[str, Path]:
    """Parse each graph of ``manifest``, build it with one profile from ``shapes``, serialise it.

    Shared by N1.5, N1.6 and N1.7 (they differ only in ``shapes``): ``timing.cache`` is reused
    and rewritten beside the engines, and the manifest gains ``engines`` and
    ``engine_precision``. ``present_inputs_only`` skips profile shapes for inputs the exporter
    dropped from a graph (N1.6).
    """
    from groot_sdk.models.gr00t_n15.export import MANIFEST

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
        elif precision != "fp32":
            raise ValueError(f"precision '{precision}' is not fp16, bf16 or fp32")
        cache = cfg.create_timing_cache(cache_file.read_bytes() if cache_file.is_file() else b"")
        cfg.set_timing_cache(cache, ignore_mismatch=False)
        profile = builder.create_optimization_profile()
        names = {network.get_input(i).name for i in range(network.num_inputs)}
        for name, (lo, opt, hi) in shapes[graph].items():
            if name in names or not present_inputs_only:
                profile.set_shape(name, lo, opt, hi)
        cfg.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, cfg)
        if serialized is None:
            raise BackendError(f"TensorRT failed to build an engine for {file}")
        out = directory / f"{graph}.engine"
        out.write_bytes(bytes(serialized))
        cache_file.write_bytes(bytes(cfg.get_timing_cache().serialize()))
        engines[graph] = out
        if log_builds:
            log.info("built %s (%s)", out, precision)
    manifest["engines"] = {g: p.name for g, p in engines.items()}
    manifest["engine_precision"] = precision
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return engines


class EngineRunner:
    """One deserialised engine and its execution context."""

    def __init__(self, path: Path) -> None:
        trt = require("tensorrt", "tensorrt", "the tensorrt backend")
        import torch

        if not torch.cuda.is_available():
            raise BackendError("the tensorrt backend needs a CUDA GPU")
        self._torch = torch
        self._trt = trt
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise BackendError(
                f"cannot load TensorRT engine {path} (built for another GPU/version?)"
            )
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        mode = trt.TensorIOMode.INPUT
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == mode]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) != mode]

    def _dtype(self, name: str):
        trt, torch = self._trt, self._torch
        table = {
            trt.float32: torch.float32,
            trt.float16: torch.float16,
            trt.int64: torch.int64,
            trt.int32: torch.int32,
            trt.bfloat16: torch.bfloat16,
            trt.bool: torch.bool,
        }
        return table[self.engine.get_tensor_dtype(name)]

    def __call__(self, feeds: dict[str, Any]) -> dict[str, Any]:
        """Inputs as numpy arrays or CUDA tensors; outputs as CUDA tensors."""
        torch = self._torch
        keep = []
        for name in self.inputs:
            value = feeds[name]
            tensor = (
                value
                if isinstance(value, torch.Tensor)
                else torch.from_numpy(np.ascontiguousarray(value))
            )
            tensor = tensor.to("cuda", self._dtype(name)).contiguous()
            keep.append(tensor)
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        outputs = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            out = torch.empty(shape, dtype=self._dtype(name), device="cuda")
            self.context.set_tensor_address(name, out.data_ptr())
            outputs[name] = out
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise BackendError("TensorRT execution failed")
        self.stream.synchronize()
        return outputs
