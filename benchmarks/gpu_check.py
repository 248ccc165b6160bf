"""TensorRT on a CUDA GPU for GR00T N1.5, N1.6 and N1.7: engine build, parity, latency.

One script for whoever has a GPU (``python benchmarks/gpu_check.py``). For each generation
and size (``tiny``: the test checkpoints; ``wide``: the real widths with a few layers, when the
GPU has room) it builds a random checkpoint with the released names, exports it with the
generation's ``export_onnx``, builds fp32 and fp16 engines with its ``build_engines`` (what
``groot export-onnx`` / ``groot build-engine`` run), then on the same pre-processed inputs and
noise (a batch of two prompts of different length, so the padded path runs) compares:

* parity: max abs difference of the normalised actions, TensorRT vs torch fp32 on CUDA
  (fp32 engines are expected near 1e-4 or below, fp16 ones near 1e-2);
* latency: p50/p90 of the network alone and of ``get_action`` for torch fp32, torch bf16,
  TensorRT fp32 and fp16 (interleaved blocks), and TensorRT fp16 / torch fp32 as a ratio.

Without a CUDA GPU or without TensorRT it says which is missing and exits with status 2.
``--cpu-smoke`` runs the CPU half instead (checkpoints, ONNX export, ONNX Runtime parity
against torch on the CPU) so the script itself can be checked anywhere.
Writes out/bench/gpu_check.json.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved

VERSIONS = ("n1.5", "n1.6", "n1.7")
TINY_MODULES = {v: f"groot_sdk.models.gr00t_n{v[1]}{v[3]}.tiny" for v in VERSIONS}
#: tags whose projector slot is below 3 (wide checkpoints keep 3 slots)
WIDE_TAGS = {"n1.5": "so100", "n1.6": "libero_panda", "n1.7": "libero_sim"}


def missing_gpu() -> str | None:
    """Why TensorRT cannot be checked here, or None."""
    try:
        import torch
    except ImportError:
        return "torch is not installed (pip install 'groot-sdk[torch]')"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible to torch"
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "TensorRT is not installed (pip install 'groot-sdk[tensorrt]')"
    return None


def _call(fn: Any, **kwargs: Any) -> Any:
    """``fn`` with the keyword arguments it accepts."""
    params = inspect.signature(fn).parameters
    return fn(**{k: v for k, v in kwargs.items() if k in params})


def build_checkpoint(version: str, size: str, directory: Path) -> Path:
    tiny = importlib.import_module(TINY_MODULES[version])
    if size == "tiny":
        return tiny.build_tiny_checkpoint(directory)
    config = _call(
        tiny.wide_config_dict, vision_layers=2, llm_layers=2, dit_layers=4, embodiments=3
    )
    tag = (
        WIDE_TAGS[version]
        if "embodiments" in inspect.signature(tiny.wide_config_dict).parameters
        else "new_embodiment"
    )
    return tiny.build_tiny_checkpoint(directory, config=config, tag=tag)


def exporter(version: str):
    if version == "n1.5":
        from groot_sdk.models.gr00t_n15.export import export_onnx
        from groot_sdk.models.gr00t_n15.tensorrt import build_engines

        return export_onnx, build_engines
    from groot_sdk.policy.gr00t_versions import implementation

    module = implementation(version)
    return module.export_onnx, module.build_engines


def batch_inputs(backend: Any) -> Any:
    """Two observations with prompts of different length, pre-processed together."""
    own = getattr(backend, "synthetic_observation", None)
    if own is None:
        from groot_sdk.models.gr00t_n15.runtime import synthetic_observation

        def own(seed: int) -> dict:
            return synthetic_observation(backend.processor, seed)

    obs = [own(0), own(1)]
    key = backend.processor.language_key
    obs[1][key] = ["pick up the cube and place it in the box and then pick up the cube"]
    collate = getattr(backend.processor, "collate", None)
    return (collate(obs) if collate else backend.processor(obs[0])), obs[0]


def check(version: str, size: str, tmp: Path, calls: int, gpu: bool) -> dict[str, Any]:
    from groot_sdk.cli.commands.benchmark import summarize
    from groot_sdk.policy import onnx_backend, torch_backend

    row: dict[str, Any] = {"version": version, "size": size}
    start = time.perf_counter()
    ckpt = build_checkpoint(version, size, tmp / f"{version}-{size}")
    export, build = exporter(version)
    onnx_dir = Path(export(ckpt, tmp / f"{version}-{size}-onnx"))
    row["export_s"] = round(time.perf_counter() - start, 1)
    device = "cuda" if gpu else "cpu"
    ref = torch_backend.create(None, checkpoint=str(ckpt), seed=0, device=device)
    inputs, single = batch_inputs(ref)
    noise = ref.noise(inputs.state.shape[0])
    want = ref.infer(inputs, noise)
    backends: dict[str, Any] = {"torch fp32": ref}
    if not gpu:
        ort = onnx_backend.create(None, checkpoint=str(onnx_dir), seed=0)
        row["onnx_max_abs_err"] = float(np.abs(ort.infer(inputs, noise) - want).max())
        backends["onnxruntime"] = ort
    else:
        from groot_sdk.policy import tensorrt_backend

        backends["torch bf16"] = torch_backend.create(
            None, checkpoint=str(ckpt), seed=0, device="cuda", dtype="bfloat16"
        )
        for precision in ("fp32", "fp16"):
            engine_dir = tmp / f"{version}-{size}-{precision}"
            shutil.copytree(onnx_dir, engine_dir)
            t0 = time.perf_counter()
            _call(build, onnx_dir=engine_dir, precision=precision, max_batch=2, max_seq=1024,
                  workspace_gib=8.0)  # fmt: skip
            row[f"engine_build_s_{precision}"] = round(time.perf_counter() - t0, 1)
            trt = tensorrt_backend.create(None, checkpoint=str(engine_dir), seed=0)
            row[f"trt_{precision}_max_abs_err"] = float(
                np.abs(trt.infer(inputs, noise) - want).max()
            )
            backends[f"tensorrt {precision}"] = trt
    one = ref.processor(single)
    noise1 = ref.noise(1)
    timers = {}
    for name, backend in backends.items():
        timers[f"{name} model"] = lambda b=backend: b.infer(one, noise1)
        timers[f"{name} get_action"] = lambda b=backend: b.get_action(single)
    if gpu:
        import torch

        def synced(fn):
            def run():
                fn()
                torch.cuda.synchronize()

            return run

        timers = {k: synced(f) for k, f in timers.items()}
    stats = {k: summarize(v) for k, v in interleaved(timers, calls, 3).items()}
    row["latency_ms"] = {k: {"p50": s["p50"], "p90": s["p90"]} for k, s in stats.items()}
    if gpu:
        row["trt_fp16_over_torch_fp32_model"] = (
            stats["tensorrt fp16 model"]["p50"] / stats["torch fp32 model"]["p50"]
        )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default=",".join(VERSIONS))
    parser.add_argument("--sizes", default="tiny,wide")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--cpu-smoke", action="store_true", help="CPU half only (no TensorRT)")
    parser.add_argument("--out", default="out/bench")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    gpu = not args.cpu_smoke
    if gpu and (why := missing_gpu()):
        print(f"gpu_check: cannot check TensorRT here: {why}. "
              "Run it on a machine with a CUDA GPU and TensorRT, or pass --cpu-smoke.")  # fmt: skip
        return 2
    rows, failures = [], 0
    sizes = args.sizes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        for version in args.versions.split(","):
            for size in sizes:
                if size == "wide" and gpu:
                    import torch

                    free, _ = torch.cuda.mem_get_info()
                    if free < 24 << 30:
                        print(f"{version} wide: skipped ({free / 2**30:.0f} GiB free, needs ~24)")
                        continue
                try:
                    row = check(version, size, Path(tmp), args.calls, gpu)
                except Exception as exc:  # noqa: BLE001 - report every generation, then fail
                    failures += 1
                    traceback.print_exc()
                    row = {
                        "version": version,
                        "size": size,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                rows.append(row)
                print(json.dumps(row, indent=1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"benchmark": "gpu_check", "mode": "tensorrt" if gpu else "cpu-smoke", "rows": rows,
              "platform": platform.platform()}  # fmt: skip
    if gpu:
        import torch

        report["gpu"] = torch.cuda.get_device_name(0)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out / 'gpu_check.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
