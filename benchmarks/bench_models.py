"""GR00T N1.5 latency on this machine's CPU: torch (fp32, bf16) vs ONNX Runtime, tiny model.

The tiny checkpoint (random weights, released parameter names) exercises the same code paths as
the 3B model; absolute numbers say little about the real model, the ratio says how the runtimes
compare on identical graphs. Rows:

* ``torch fp32``  get_action: pre-processing + backbone + 4 Euler steps + post-processing
* ``torch bf16``  the same in bfloat16
* ``onnx``        the same graphs exported by ``groot export-onnx``, on ONNX Runtime (CPU EP)
* ``... model``   the network alone (pre-processed inputs, no pre/post-processing)

Baseline: ``torch fp32`` measured in the same run. Writes out/bench/models.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from groot_sdk.cli.commands.benchmark import measure, summarize


def _model_only(backend, calls: int, warmup: int) -> list[float]:
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation

    inputs = backend.processor(synthetic_observation(backend.processor))
    noise = backend.noise(1)
    for _ in range(warmup):
        backend.infer(inputs, noise)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        backend.infer(inputs, noise)
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", default="out/bench")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    import torch

    from groot_sdk.models.gr00t_n15.export import export_onnx
    from groot_sdk.models.gr00t_n15.tiny import build_tiny_checkpoint
    from groot_sdk.policy import onnx_backend, torch_backend

    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = build_tiny_checkpoint(Path(tmp) / "ckpt")
        onnx_dir = export_onnx(ckpt, Path(tmp) / "onnx")
        backends = {
            "torch fp32": torch_backend.create(None, checkpoint=str(ckpt), seed=0),
            "torch bf16": torch_backend.create(
                None, checkpoint=str(ckpt), seed=0, dtype="bfloat16"
            ),
            "onnx": onnx_backend.create(None, checkpoint=str(onnx_dir), seed=0),
        }
        for name, backend in backends.items():
            rows[name] = summarize(measure(backend, args.calls, args.warmup))
        for name in ("torch fp32", "onnx"):
            rows[f"{name} model"] = summarize(_model_only(backends[name], args.calls, args.warmup))

    base, base_model = rows["torch fp32"]["p50"], rows["torch fp32 model"]["p50"]
    for name, stats in rows.items():
        stats["speedup_vs_torch_fp32"] = (base_model if "model" in name else base) / stats["p50"]
    print(
        f"GR00T N1.5 tiny model, CPU ({torch.get_num_threads()} torch threads), "
        f"{args.calls} calls after {args.warmup} warm-up"
    )
    print(f"{'backend':<18}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'x torch fp32':>14}")
    for name, s in rows.items():
        print(
            f"{name:<18}{s['p50']:>9.2f}{s['p90']:>9.2f}{s['p99']:>9.2f}"
            f"{s['speedup_vs_torch_fp32']:>14.2f}"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "models",
        "model": "GR00T N1.5 tiny (random weights)",
        "calls": args.calls,
        "warmup": args.warmup,
        "rows": rows,
        "onnx_vs_torch_fp32_p50": rows["torch fp32"]["p50"] / rows["onnx"]["p50"],
        "machine": {
            "platform": platform.platform(),
            "cpus": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    (out / "models.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out / 'models.json'}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
