"""GR00T N1.6's TensorRT path on a CUDA GPU: engine build, parity with torch, latency.

``python -m groot_sdk.models.gr00t_n16.gpu_check [--out DIR] [--layers N]`` writes a checkpoint
at N1.6's real widths (SigLIP 2 1152, Qwen3 2048, DiT 1536, 128-wide state/action, horizon 50)
with ``--layers`` layers per stack and random weights, exports it (``groot export-onnx``'s
code), builds fp32 and fp16 engines, and prints one JSON line: max |engine - torch| on the
normalised actions (same inputs, same noise) and p50 latency of torch CUDA fp32 / bf16 and of
each engine. Exit status 1 when the fp32 engine is off by more than 1e-3, 2 without a GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _p50(fn, calls: int) -> float:
    import torch

    for _ in range(3):
        fn()
    times = []
    for _ in range(calls):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print(json.dumps({"skipped": "no CUDA GPU"}))
        return 2
    from groot_sdk.models.gr00t_n16 import backends
    from groot_sdk.models.gr00t_n16.tiny import build_tiny_checkpoint, wide_config_dict

    root = args.out or Path(tempfile.mkdtemp(prefix="groot_n16_gpu_"))
    n = args.layers
    config = wide_config_dict(vision_layers=n, llm_layers=n, dit_layers=2 * n)
    ckpt = build_tiny_checkpoint(root / "ckpt", config=config, action_horizon=16)
    report: dict = {"layers": n, "gpu": torch.cuda.get_device_name()}
    ref = backends.create("torch", None, ckpt, device="cuda", seed=0)
    obs = ref.synthetic_observation(0)
    inputs = ref.processor(obs)
    noise = ref.noise(1)
    want = ref.infer(inputs, noise)
    report["torch_fp32_ms"] = _p50(lambda: ref.infer(inputs, noise), args.calls)
    bf16 = backends.create("torch", None, ckpt, device="cuda", dtype="bfloat16", seed=0)
    report["torch_bf16_ms"] = _p50(lambda: bf16.infer(inputs, noise), args.calls)
    report["torch_bf16_max_abs"] = float(np.abs(bf16.infer(inputs, noise) - want).max())
    bf16.close()
    status = 0
    for precision in ("fp32", "fp16"):
        export = backends.export_onnx(ckpt, root / f"onnx_{precision}")
        start = time.perf_counter()
        backends.build_engines(export, precision=precision, max_batch=2, max_seq=512)
        report[f"trt_{precision}_build_s"] = round(time.perf_counter() - start, 1)
        engine = backends.create("tensorrt", None, export, seed=0)
        got = engine.infer(inputs, noise)
        err = float(np.abs(got - want).max())
        report[f"trt_{precision}_max_abs"] = err
        report[f"trt_{precision}_ms"] = _p50(lambda e=engine: e.infer(inputs, noise), args.calls)
        if precision == "fp32" and err > 1e-3:
            status = 1
        engine.close()
    report["torch_fp32_over_trt_fp16"] = report["torch_fp32_ms"] / report["trt_fp16_ms"]
    print(json.dumps(report))
    return status


if __name__ == "__main__":
    sys.exit(main())
