"""The whole loop on a CPU: record scripted FetchReach demos, fine-tune a tiny GR00T N1.5 on
them, evaluate it in the simulator on seeds not used for recording, export it to ONNX and
evaluate that too. Every step is the `groot` command a user would type.

    python examples/finetune_fetch_closed_loop.py --workdir runs/fetch   # 100 demos (default)
    python examples/finetune_fetch_closed_loop.py --demos 20 --steps 200 --eval-episodes 10

Needs: pip install 'groot-sdk[sim,torch,onnx,data,finetune]' plugins/groot-sdk-fetch, and
MUJOCO_GL=egl (or osmesa) on a machine without a display. Prints and writes report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

RECORD_SEED = 100_000  #: demos use seeds 100000.. ; evaluation uses 0.. (never overlapping)


def groot(*args: str) -> dict:
    """Run `groot ... --json` and return its JSON output."""
    cmd = [sys.executable, "-m", "groot_sdk.cli.main", *args, "--json"]
    print("$ groot " + " ".join(args), flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"groot {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout[done.stdout.index("{") :])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("runs/finetune_fetch"))
    ap.add_argument("--demos", type=int, default=100)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-episodes", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="torch/onnx threads (tiny model: 1)")
    ap.add_argument("--no-onnx", action="store_true", help="Skip the ONNX export and its eval.")
    args = ap.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    work = args.workdir
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    report: dict = {"demos": args.demos, "eval_episodes": args.eval_episodes}

    t0 = time.perf_counter()
    # gain 0.2: each reach takes ~10 steps instead of one; 0.8 s (20 steps) per episode keeps
    # the demos to the reach (otherwise 47 of 50 actions are zeros and the model learns to idle)
    rec = groot("run", "-e", "fetch", "--sim", "-p", "scripted", "--policy-opt", "gain=0.2",
                "--task", "reach", "--episodes", str(args.demos), "--seconds", "0.8",
                "--rate", "0", "--seed", str(RECORD_SEED), "--record", str(work / "demos"))  # fmt: skip
    report["record_seconds"] = round(time.perf_counter() - t0, 1)
    report["demo_success_rate"] = rec["success_rate"]

    from groot_sdk.finetune.tiny import build_tiny_base

    build_tiny_base(work / "base")
    train = groot("finetune", "-e", "fetch", "--dataset", str(work / "demos"),
                  "--base", str(work / "base"), "--out", str(work / "model"),
                  "--max-steps", str(args.steps), "--batch-size", str(args.batch_size),
                  "--lr", str(args.lr), "--log-every", "10", "--threads", str(args.threads))  # fmt: skip
    report["train"] = train
    print(f"trained {train['steps']} steps in {train['train_seconds']} s", flush=True)

    evals = {"torch": str(work / "model")}
    if not args.no_onnx:
        t1 = time.perf_counter()
        cmd = [sys.executable, "-m", "groot_sdk.cli.main", "export-onnx", str(work / "model"),
               str(work / "onnx")]  # fmt: skip
        print("$ groot export-onnx", work / "model", work / "onnx", flush=True)
        subprocess.run(cmd, check=True, capture_output=True)
        report["export_seconds"] = round(time.perf_counter() - t1, 1)
        evals["onnx"] = str(work / "onnx")
    for backend, checkpoint in evals.items():
        result = groot("eval", "-e", "fetch", "--sim", "--task", "reach", "-p", backend,
                       "--policy-opt", f"checkpoint={checkpoint}", "--policy-opt", "seed=0",
                       "--policy-opt", f"threads={args.threads}",
                       "-n", str(args.eval_episodes), "--seed", "0")  # fmt: skip
        report[f"eval_{backend}"] = {
            k: result[k] for k in ("success_rate", "successes", "episodes", "ci_low", "ci_high",
                                   "mean_distance") if k in result}  # fmt: skip
    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    (work / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
