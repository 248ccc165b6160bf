"""GR00T N1.5 fine-tuning on this machine's CPU: training steps/s and peak memory at N1.5's real
widths (SigLIP 1152, Qwen3 2048, DiT 1536, 224 px) with few layers (``wide_config_dict``:
1 SigLIP, 1 LM, 2 DiT, 1 VL-attention layer; ``--quick``: the tiny model).

Rows, each in a fresh process (so that its peak memory is its own), batch ``--batch``:

* ``forward only``   the flow-matching loss without gradients: the baseline
* ``train``          loss + backward + AdamW step, N1.5's default flags (projector + DiT +
  VL layers trained, backbone frozen) in fp32
* ``train bf16``     the same under bfloat16 autocast
* ``train lora16``   LoRA rank 16 on the DiT (peft), projector frozen
* ``train +llm``     also the language model (``--tune-llm``)

Rows run in rounds (each row once per round, ``--rounds``), medians over the rounds.
Reported: ms per step, steps/s, and the peak resident-set growth over the process's size after
building the model (MB), each as a ratio to ``forward only`` measured in the same run.
Writes out/bench/finetune.json. Absolute numbers are this CPU's; the ratios say what training
costs over inference on the same graph.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

_ROW = r"""
import json, sys, time
import torch
spec = json.loads(sys.argv[1])
torch.manual_seed(0)
torch.set_num_threads(spec["threads"])
from groot_sdk.models.gr00t_n15.config import GR00TN15Config
from groot_sdk.models.gr00t_n15.modeling import GR00TN15
from groot_sdk.models.gr00t_n15.tiny import tiny_config_dict, wide_config_dict
from groot_sdk.finetune.objective import FlowMatchingObjective, add_lora, frozen_to_eval, set_trainable

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

cfg = wide_config_dict() if spec["model"] == "wide" else tiny_config_dict()
model = GR00TN15(GR00TN15Config(**cfg))
with torch.no_grad():
    for p in model.parameters():
        p.normal_(0.0, 0.02)
row = spec["row"]
set_trainable(model, row == "train +llm", False, row != "train lora16", True)
if row == "train lora16":
    add_lora(model, 16, 32, 0.0, False)
model.train(); frozen_to_eval(model)
obj = FlowMatchingObjective(model)
b = spec["batch"]
eagle = cfg["backbone_cfg"]["eagle_config"]
size = eagle["vision_config"]["image_size"]; patch = eagle["vision_config"]["patch_size"]
n_img = (size // patch) ** 2
ids = torch.randint(0, 20, (b, n_img + 30))
ids[:, 10:10 + n_img] = eagle["image_token_index"]
batch = dict(pixel_values=torch.randn(b, 3, size, size), input_ids=ids,
             attention_mask=torch.ones_like(ids), state=torch.randn(b, 1, 64),
             embodiment_id=torch.full((b,), 31), action=torch.rand(b, 16, 32) * 2 - 1,
             action_mask=torch.ones(b, 16, 32), noise=torch.randn(b, 16, 32), t=torch.rand(b))
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-5) if params else None

def step():
    if row == "forward only":
        with torch.no_grad():
            return obj(**batch)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=row == "train bf16"):
        loss = obj(**batch)
    loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)

base = status("VmRSS")
for _ in range(spec["warmup"]):
    step()
times = []
for _ in range(spec["calls"]):
    t0 = time.perf_counter(); step(); times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(json.dumps({"ms": times[len(times) // 2], "peak_mb": (status("VmHWM") - base) / 2**20,
                  "trainable": sum(p.numel() for p in params),
                  "params": sum(p.numel() for p in model.parameters())}))
"""

ROWS = ("forward only", "train", "train bf16", "train lora16", "train +llm")


def run_row(row: str, args: argparse.Namespace) -> dict:
    spec = {"row": row, "model": args.model, "batch": args.batch, "calls": args.calls,
            "warmup": args.warmup, "threads": args.threads}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _ROW, json.dumps(spec)],
        capture_output=True, text=True, check=False, timeout=3600,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{row}: failed\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny model, 2 calls per row")
    parser.add_argument("--model", choices=("tiny", "wide"), default="wide")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per row")
    parser.add_argument("--out", default="out/bench")
    args = parser.parse_args()
    if args.quick:
        args.model, args.calls, args.warmup, args.rounds = "tiny", 2, 1, 1
    try:
        import peft  # noqa: F401
    except ImportError:
        rows = [r for r in ROWS if r != "train lora16"]
    else:
        rows = list(ROWS)
    # rounds: every row once per round, so that load from other processes falls on all alike;
    # a row's figures are the medians over the rounds
    runs: dict[str, list[dict]] = {row: [] for row in rows}
    for _ in range(args.rounds):
        for row in rows:
            runs[row].append(run_row(row, args))
    results = {}
    for row, rs in runs.items():
        results[row] = {k: sorted(r[k] for r in rs)[len(rs) // 2] for k in rs[0]}
    base = results["forward only"]
    print(f"GR00T N1.5 fine-tuning, {args.model} widths, batch {args.batch}, "
          f"{args.threads} threads, {platform.processor() or platform.machine()}")  # fmt: skip
    print(f"{'row':<14} {'ms/step':>9} {'steps/s':>8} {'x fwd':>6} {'peak MB':>8} {'x fwd':>6} "
          f"{'trainable':>11}")  # fmt: skip
    for row, r in results.items():
        r["steps_per_s"] = 1e3 / r["ms"]
        r["time_ratio"] = r["ms"] / base["ms"]
        r["memory_ratio"] = r["peak_mb"] / max(base["peak_mb"], 1e-9)
        print(f"{row:<14} {r['ms']:>9.1f} {r['steps_per_s']:>8.2f} {r['time_ratio']:>6.2f} "
              f"{r['peak_mb']:>8.0f} {r['memory_ratio']:>6.2f} {r['trainable']:>11,}")  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"model": args.model, "batch": args.batch, "threads": args.threads, "rows": results}
    (out / "finetune.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out / 'finetune.json'}")


if __name__ == "__main__":
    main()
