"""GR00T N1.5 latency on this machine's CPU: torch (fp32, bf16) vs ONNX Runtime, tiny model.

The tiny checkpoint (random weights, released parameter names) exercises the same code paths as
the 3B model; absolute numbers say little about the real model, the ratio says how the runtimes
compare on identical graphs. Rows:

* ``torch fp32``  get_action: pre-processing + backbone + 4 Euler steps + post-processing
* ``torch bf16``  the same in bfloat16
* ``onnx``        the same graphs exported by ``groot export-onnx``, on ONNX Runtime (CPU EP)
* ``... model``   the network alone (pre-processed inputs, no pre/post-processing)

Both runtimes use ``--threads`` intra-op threads (default 1: on a shared 2-core VM more threads
measure contention, not the runtimes). Baseline: ``torch fp32`` measured in the same run; rows are timed in interleaved blocks of 10
calls so that load from other processes falls on all of them alike. Writes
out/bench/models.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
from pathlib import Path

import numpy as np
from _timing import interleaved

from groot_sdk.cli.commands.benchmark import summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", default="out/bench")
    parser.add_argument(
        "--threads", type=int, default=1, help="intra-op threads for torch and ONNX Runtime"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    import torch

    from groot_sdk.models.gr00t_n15.export import export_onnx
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation
    from groot_sdk.models.gr00t_n15.tiny import build_tiny_checkpoint
    from groot_sdk.policy import onnx_backend, torch_backend

    torch.set_num_threads(args.threads)
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = build_tiny_checkpoint(Path(tmp) / "ckpt")
        onnx_dir = export_onnx(ckpt, Path(tmp) / "onnx")
        backends = {
            "torch fp32": torch_backend.create(None, checkpoint=str(ckpt), seed=0),
            "torch bf16": torch_backend.create(
                None, checkpoint=str(ckpt), seed=0, dtype="bfloat16"
            ),
            "onnx": onnx_backend.create(
                None, checkpoint=str(onnx_dir), seed=0, threads=args.threads
            ),
        }
        obs = synthetic_observation(backends["onnx"].processor)
        inputs = backends["onnx"].processor(obs)
        noise = backends["onnx"].noise(1)
        timers = {name: (lambda b=b: b.get_action(obs)) for name, b in backends.items()}
        for name in ("torch fp32", "onnx"):
            timers[f"{name} model"] = lambda b=backends[name]: b.infer(inputs, noise)
        for name, samples in interleaved(timers, args.calls, args.warmup).items():
            rows[name] = summarize(samples)

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
