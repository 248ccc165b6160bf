"""Issue 18's six goals from one ``nox -s bench`` run: each ratio against its baseline.

Reads the JSON the benchmarks wrote under ``--dir`` (default out/bench) and prints one line per
goal with the measured ratio, the goal and whether it was met. Only outputs written since
``--since`` (a Unix time; the session passes its start) count: a figure left over from an
earlier run is reported as missing, not reused. Exits 0 either way: the benchmarks report,
they do not gate.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

OUTPUTS = {  # benchmark script -> the JSON it writes under --dir
    "bench_clock.py": "clock.json",
    "bench_finetune.py": "finetune.json",
    "bench_hardware.py": "hardware.json",
    "bench_models.py": "models.json",
    "bench_n17.py": "n17.json",
    "bench_recording.py": "recording.json",
    "bench_remote.py": "remote.json",
    "bench_residual.py": "residual.json",
    "bench_runtime.py": "runtime.json",
    "bench_sim.py": "sim.json",
}


def _load(folder: Path, name: str, since: float) -> dict | None:
    path = folder / name
    if not path.is_file() or path.stat().st_mtime < since:
        return None
    return json.loads(path.read_text())


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _sim(doc: dict) -> list[tuple[str, str]]:
    ratios = {robot: v["median"] for robot, v in doc["loop_vs_bare"].items()}
    text = ", ".join(f"{robot} {v:.2f}" for robot, v in ratios.items())
    return [(text, _verdict(min(ratios.values()) >= 0.8))]


def _wire(doc: dict) -> list[tuple[str, str]]:
    g = doc["goal"]
    text = f"{g['sdk_over_echo_p50']:.2f}x (vs the bare bytes {g['sdk_over_bare_p50']:.2f}x)"
    return [(text, _verdict(g["sdk_over_echo_p50"] <= 1.2))]


def _models(doc: dict) -> list[tuple[str, str]]:
    peak = doc["load_peak"]
    return [
        (f"{peak['ratio']:.2f}x of {peak['weights'] / 1e6:.0f} MB", _verdict(peak["ratio"] <= 1.2)),
        (
            (
                f"{doc['onnx_vs_torch_fp32_p50']:.2f}x on {doc['model']} (torch with MKL: "
                f"{doc['onnx_vs_torch_fp32_mkl_p50']:.2f}x); see docs/backends.md"
            ),
            "reported",
        ),
    ]


def _clock(doc: dict) -> list[tuple[str, str]]:
    loaded, idle = doc["regimes"]["2 hogs"], doc["regimes"]["idle"]
    ours = loaded["DeadlineClock"]["periods_over_5ms"]
    plain = loaded["plain sleep (baseline)"]["periods_over_5ms"]
    p99 = idle["DeadlineClock"]["jitter_ms_p99"]
    return [
        (f"{ours} / {plain} = {ours / max(plain, 1):.2f}", _verdict(ours <= plain)),
        (f"{p99:.4f} ms", _verdict(p99 <= 0.05)),
    ]


GOALS = [  # (output, how to read it, the points it answers)
    ("sim.json", _sim, ["1 sim loop / bare step rate (>= 0.8)"]),
    ("remote.json", _wire, ["2 wire: groot serve + remote / ZeroMQ echo, p50 (<= 1.2)"]),
    (
        "models.json",
        _models,
        ["3 checkpoint load peak / weights (<= 1.2)", "4 ONNX Runtime / torch fp32 speed"],
    ),
    (
        "clock.json",
        _clock,
        [
            "5a clock, 2 hogs: periods > 5 ms / plain sleep's (<= 1)",
            "5b clock, idle: lateness p99 (<= 0.05 ms)",
        ],
    ),
]


def summarize(folder: Path, since: float) -> list[tuple[str, str, str]]:
    """(point, measured, verdict) per goal of issue 18."""
    lines: list[tuple[str, str, str]] = []
    for name, read, points in GOALS:
        doc = _load(folder, name, since)
        rows = read(doc) if doc else [("-", "no figure")] * len(points)
        lines += [(point, *row) for point, row in zip(points, rows)]
    ran = [s for s, name in OUTPUTS.items() if _load(folder, name, since) is not None]
    missing = sorted(set(OUTPUTS) - set(ran))
    text = f"{len(ran)} of {len(OUTPUTS)}" + (f" (missing: {missing})" if missing else "")
    lines.append(("6 benchmarks that ran in this session", text, _verdict(not missing)))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="out/bench")
    ap.add_argument("--since", type=float, default=0.0, help="Unix time; older outputs are ignored")
    args = ap.parse_args()
    lines = summarize(Path(args.dir), args.since)
    width = max(len(p) for p, _, _ in lines)
    print(f"\nissue 18 goals, this run ({time.strftime('%Y-%m-%d %H:%M')}):")
    for point, measured, verdict in lines:
        print(f"  {point:<{width}}  {measured}  [{verdict}]")


if __name__ == "__main__":
    main()
