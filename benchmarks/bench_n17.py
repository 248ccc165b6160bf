"""GR00T N1.7 vs N1.5 on this machine's CPU, at the same widths, as a latency ratio.

Both generations are built as random checkpoints with their released parameter names at the
same widths and depths, and run through the ``torch`` backend (fp32; N1.5 with its CPU default,
Linear layers through oneDNN) and through ONNX Runtime:

* ``--model tiny`` (default): the tiny test checkpoints (width 32): pre/post-processing and
  framework overhead (N1.5's tiny model sees 28 px images, N1.7's the real 256 px);
* ``--model wide``: the real widths (N1.5: SigLIP 1152, Qwen3 2048, DiT 1536 at 224 px;
  N1.7: Qwen3-VL vision 1024, LM 2048, DiT 1536 at 256 px) with 2 vision / 2 LM / 4 DiT /
  1 VL-self-attention layers and 3 embodiment slots each.

Both get the same 640 x 480 camera frame. What differs per call at equal depth: N1.7 feeds 64 merged tokens per image to the LM (N1.5
256), its vision tower is narrower, and its DiT denoises 40 steps of 132-D actions (N1.5 16 of
32) plus its deepstack additions. Rows: ``get_action`` (pre-processing + model +
post-processing) and ``model`` (the network alone); the ratio is N1.7 time / N1.5 time (below 1:
N1.7 is faster), the median over interleaved blocks of 10 calls of the per-block median ratio,
so load from other processes falls on both alike.
Writes out/bench/n17.json.
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

BLOCK = 10


def block_ratio(a: list[float], b: list[float]) -> float:
    """Median over the interleaved blocks of median(a) / median(b): each block pair ran back to
    back, so load from other processes mostly cancels (a shared 2-core VM is noisy)."""
    n = min(len(a), len(b)) // BLOCK
    per_block = [
        np.median(a[i * BLOCK : (i + 1) * BLOCK]) / np.median(b[i * BLOCK : (i + 1) * BLOCK])
        for i in range(n)
    ]
    return float(np.median(per_block))


def build(tmp: Path, model: str) -> dict[str, Path]:
    from groot_sdk.models.gr00t_n15 import tiny as n15
    from groot_sdk.models.gr00t_n17 import tiny as n17

    if model == "wide":
        c15 = n15.wide_config_dict(vision_layers=2, llm_layers=2, dit_layers=4, embodiments=3)
        c17 = n17.wide_config_dict(vision_layers=2, llm_layers=2, dit_layers=4, embodiments=3)
        return {
            "n1.5": n15.build_tiny_checkpoint(tmp / "n15", config=c15, tag="so100"),
            "n1.7": n17.build_tiny_checkpoint(tmp / "n17", config=c17, tag="libero_sim"),
        }
    return {
        "n1.5": n15.build_tiny_checkpoint(tmp / "n15"),
        "n1.7": n17.build_tiny_checkpoint(tmp / "n17"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 10 calls, no ONNX")
    parser.add_argument("--model", choices=("tiny", "wide"), default="tiny")
    parser.add_argument("--onnx", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="out/bench")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.warmup, args.model, args.onnx = 10, 1, "tiny", False
    logging.basicConfig(level=logging.ERROR)

    import torch

    from groot_sdk.cli.commands.benchmark import summarize
    from groot_sdk.models.gr00t_n15.export import export_onnx as export15
    from groot_sdk.models.gr00t_n15.runtime import synthetic_observation as synth15
    from groot_sdk.models.gr00t_n17.backends import export_onnx as export17
    from groot_sdk.policy import onnx_backend, torch_backend

    torch.set_num_threads(args.threads)
    timers = {}
    frames = np.random.default_rng(0).integers(0, 256, (1, 480, 640, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        ckpts = build(Path(tmp), args.model)
        backends = {
            v: torch_backend.create(None, checkpoint=str(c), seed=0) for v, c in ckpts.items()
        }
        if args.onnx:
            exports = {"n1.5": export15, "n1.7": export17}
            for v, c in ckpts.items():
                out = exports[v](c, Path(tmp) / f"{v}-onnx")
                backends[f"{v} onnx"] = onnx_backend.create(
                    None, checkpoint=str(out), seed=0, threads=args.threads
                )
        for name, backend in backends.items():
            own = getattr(backend, "synthetic_observation", None)
            obs = own(0) if own else synth15(backend.processor, 0)
            for key in [k for k in obs if k.startswith("video.")]:  # the same 640x480 camera
                obs[key] = frames
            inputs = backend.processor(obs)
            noise = backend.noise(1)
            timers[f"{name} get_action"] = lambda b=backend, o=obs: b.get_action(o)
            timers[f"{name} model"] = lambda b=backend, i=inputs, n=noise: b.infer(i, n)
        samples = interleaved(timers, args.calls, args.warmup, BLOCK)
        rows = {n: summarize(s) for n, s in samples.items()}

    ratios = {}
    for runtime in ("", " onnx"):
        for part in ("get_action", "model"):
            a, b = f"n1.7{runtime} {part}", f"n1.5{runtime} {part}"
            if a in rows and b in rows:
                ratios[f"{(runtime.strip() or 'torch')} {part}"] = block_ratio(
                    samples[a], samples[b]
                )
    print(f"GR00T N1.7 vs N1.5, {args.model} widths, CPU ({torch.get_num_threads()} threads)")
    print(f"{'row':<26}{'p50 ms':>10}{'p90 ms':>10}")
    for name, s in rows.items():
        print(f"{name:<26}{s['p50']:>10.2f}{s['p90']:>10.2f}")
    for name, r in ratios.items():
        print(f"N1.7 / N1.5 {name:<20}{r:>8.2f}x")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "n17",
        "model": f"GR00T N1.7 vs N1.5, {args.model} widths (random weights)",
        "calls": args.calls,
        "warmup": args.warmup,
        "rows": rows,
        "ratios_n17_over_n15": ratios,
        "machine": {
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
    }
    (out / "n17.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out / 'n17.json'}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
