"""GR00T N1.5 on this machine's CPU: checkpoint load peak, torch (fp32, bf16) vs ONNX Runtime.

Load peak (issue 18.3): a checkpoint at N1.5's widths (fewer layers, ~1 GB of fp32 weights;
``--quick``: ~40 MB) is loaded by ``load_model`` in a fresh process; the row is the process's
peak RSS growth over the weights' size (baseline: the weights, measured in the same run;
goal <= 1.2x).

Latency: ``--model tiny`` (default) or ``--model wide`` (N1.5 widths, 2 SigLIP / 2 LM / 2 DiT
layers; see docs/backends.md).

The tiny checkpoint (random weights, released parameter names) exercises the same code paths as
the 3B model; absolute numbers say little about the real model, the ratio says how the runtimes
compare on identical graphs. Rows:

* ``torch fp32``  get_action: pre-processing + backbone + 4 Euler steps + post-processing
  (Linear layers through oneDNN, the torch backend's CPU default)
* ``torch fp32 mkl``  the same with torch's default BLAS (``onednn=false``)
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

_LOAD_PEAK = """
import json, sys
from groot_sdk.models.gr00t_n15 import modeling  # noqa: F401 (imported before the baseline)
from groot_sdk.models.gr00t_n15.loading import load_model

def status(field):  # VmHWM is this process's own peak (ru_maxrss carries the parent's)
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

base = status("VmRSS")
model = load_model(sys.argv[1])
weights = sum(p.numel() * p.element_size() for p in model.parameters())
print(json.dumps({"base": base, "peak": status("VmHWM"), "weights": weights}))
"""


def load_peak(directory: Path, quick: bool) -> dict:
    """Peak RSS growth of a fresh process loading a checkpoint, over the weights' size."""
    import subprocess
    import sys

    from groot_sdk.models.gr00t_n15.tiny import (
        build_tiny_checkpoint,
        tiny_config_dict,
        wide_config_dict,
    )

    if quick:  # the tiny network with a 300k vocabulary: ~40 MB, mostly one tensor
        config = tiny_config_dict()
        config["backbone_cfg"]["eagle_config"]["text_config"]["vocab_size"] = 300_000
    else:  # N1.5 widths, 1 SigLIP / 1 LM / 2 DiT layers, 2 embodiments: ~0.96 GB fp32
        config = wide_config_dict(embodiments=2)
    ckpt = build_tiny_checkpoint(directory, config=config)
    run = subprocess.run(
        [sys.executable, "-c", _LOAD_PEAK, str(ckpt)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    m = json.loads(run.stdout.strip().splitlines()[-1])
    m["ratio"] = (m["peak"] - m["base"]) / m["weights"]
    return m


from groot_sdk.cli.commands.benchmark import summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a few seconds: tiny sizes, 10 calls")
    parser.add_argument("--model", choices=("tiny", "wide"), default="tiny")
    parser.add_argument("--out", default="out/bench")
    parser.add_argument(
        "--threads", type=int, default=1, help="intra-op threads for torch and ONNX Runtime"
    )
    args = parser.parse_args()
    if args.quick:
        args.calls, args.warmup, args.model = 10, 1, "tiny"
    logging.basicConfig(level=logging.ERROR)

    import torch

    from groot_sdk.models.gr00t_n15.export import export_onnx
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation
    from groot_sdk.models.gr00t_n15.tiny import build_tiny_checkpoint, wide_config_dict
    from groot_sdk.policy import onnx_backend, torch_backend

    torch.set_num_threads(args.threads)
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        peak = load_peak(Path(tmp) / "load", args.quick)
        print(
            f"load peak: {peak['ratio']:.2f}x the weights ({(peak['peak'] - peak['base']) / 1e6:.0f}"
            f" MB for {peak['weights'] / 1e6:.0f} MB; goal <= 1.2x)"
        )
        if args.model == "wide":  # so100 is projector slot 2: 3 slots are enough
            wide = wide_config_dict(vision_layers=2, llm_layers=2, dit_layers=2, embodiments=3)
            ckpt = build_tiny_checkpoint(Path(tmp) / "ckpt", config=wide, tag="so100")
        else:
            ckpt = build_tiny_checkpoint(Path(tmp) / "ckpt")
        onnx_dir = export_onnx(ckpt, Path(tmp) / "onnx")
        backends = {
            "torch fp32": torch_backend.create(None, checkpoint=str(ckpt), seed=0),
            "torch fp32 mkl": torch_backend.create(
                None, checkpoint=str(ckpt), seed=0, onednn=False
            ),
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
        f"GR00T N1.5 {args.model} model, CPU ({torch.get_num_threads()} torch threads), "
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
        "model": f"GR00T N1.5 {args.model} (random weights)",
        "load_peak": peak,
        "calls": args.calls,
        "warmup": args.warmup,
        "rows": rows,
        "onnx_vs_torch_fp32_p50": rows["torch fp32"]["p50"] / rows["onnx"]["p50"],
        "onnx_vs_torch_fp32_mkl_p50": rows["torch fp32 mkl"]["p50"] / rows["onnx"]["p50"],
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
