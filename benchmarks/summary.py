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


def _verdict(ok: bool | None) -> str:
    return "no figure" if ok is None else ("met" if ok else "NOT met")


def summarize(folder: Path, since: float) -> list[tuple[str, str, str]]:
    """(point, measured, verdict) per goal of issue 18."""
    lines: list[tuple[str, str, str]] = []
    sim = _load(folder, "sim.json", since)
    if sim:
        ratios = {r: v["median"] for r, v in sim["loop_vs_bare"].items()}
        text = ", ".join(f"{r} {v:.2f}" for r, v in ratios.items())
        lines.append(
            ("1 sim loop / bare step rate (>= 0.8)", text, _verdict(min(ratios.values()) >= 0.8))
        )
    else:
        lines.append(("1 sim loop / bare step rate (>= 0.8)", "-", _verdict(None)))
    remote = _load(folder, "remote.json", since)
    if remote:
        g = remote["goal"]
        lines.append(
            (
                "2 wire: groot serve + remote / ZeroMQ echo, p50 (<= 1.2)",
                f"{g['sdk_over_echo_p50']:.2f}x (vs the bare bytes {g['sdk_over_bare_p50']:.2f}x)",
                _verdict(g["sdk_over_echo_p50"] <= 1.2),
            )
        )
    else:
        lines.append(
            ("2 wire: groot serve + remote / ZeroMQ echo, p50 (<= 1.2)", "-", _verdict(None))
        )
    models = _load(folder, "models.json", since)
    if models:
        peak = models["load_peak"]
        lines.append(
            (
                "3 checkpoint load peak / weights (<= 1.2)",
                f"{peak['ratio']:.2f}x of {peak['weights'] / 1e6:.0f} MB",
                _verdict(peak["ratio"] <= 1.2),
            )
        )
        lines.append(
            (
                f"4 ONNX Runtime / torch fp32 speed, {models['model']} (report)",
                (
                    f"{models['onnx_vs_torch_fp32_p50']:.2f}x (torch with MKL: "
                    f"{models['onnx_vs_torch_fp32_mkl_p50']:.2f}x); see docs/backends.md"
                ),
                "reported",
            )
        )
    else:
        lines.append(("3 checkpoint load peak / weights (<= 1.2)", "-", _verdict(None)))
        lines.append(("4 ONNX Runtime / torch fp32 speed (report)", "-", _verdict(None)))
    clock = _load(folder, "clock.json", since)
    if clock:
        loaded, idle = clock["regimes"]["2 hogs"], clock["regimes"]["idle"]
        ours = loaded["DeadlineClock"]["periods_over_5ms"]
        plain = loaded["plain sleep (baseline)"]["periods_over_5ms"]
        p99 = idle["DeadlineClock"]["jitter_ms_p99"]
        lines.append(
            (
                "5a clock, 2 hogs: periods > 5 ms / plain sleep's (<= 1)",
                f"{ours} / {plain} = {ours / max(plain, 1):.2f}",
                _verdict(ours <= plain),
            )
        )
        lines.append(
            ("5b clock, idle: lateness p99 (<= 0.05 ms)", f"{p99:.4f} ms", _verdict(p99 <= 0.05))
        )
    else:
        lines.append(("5 clock", "-", _verdict(None)))
    ran = [s for s, name in OUTPUTS.items() if _load(folder, name, since) is not None]
    lines.append(
        (
            "6 benchmarks that ran in this session",
            f"{len(ran)} of {len(OUTPUTS)}"
            + (
                "" if len(ran) == len(OUTPUTS) else f" (missing: {sorted(set(OUTPUTS) - set(ran))})"
            ),
            _verdict(len(ran) == len(OUTPUTS)),
        )
    )
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
