"""Every ``benchmarks/bench_*.py`` runs to completion in its ``--quick`` mode, so that none of
them rots between ``nox -s bench`` runs (bench_remote.py once failed at HEAD unnoticed).

Only the exit status is checked: timings belong to the benchmarks, never to tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("bench_*.py"))
TIMEOUT_S = 150  #: per script; the slowest --quick run takes ~15 s on an idle 2-core machine


def test_there_are_benchmarks() -> None:
    assert len(SCRIPTS) >= 8, [p.name for p in SCRIPTS]


@pytest.mark.timeout(TIMEOUT_S + 30)
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_runs_quick(script: Path, tmp_path: Path) -> None:
    if '"--quick"' not in script.read_text():
        pytest.skip(f"{script.name} has no --quick flag yet: it is not run here")
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--quick", "--out", str(tmp_path / script.stem)],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script.name} --quick did not finish in {TIMEOUT_S} s: {exc.stdout!r:.2000}")
    assert done.returncode == 0, (
        f"{script.name} --quick exited {done.returncode}\n"
        f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}"
    )


@pytest.mark.timeout(2 * TIMEOUT_S)
def test_summary_reads_what_the_benchmarks_wrote_in_this_run(tmp_path: Path) -> None:
    """The summary that ``nox -s bench`` prints last parses the real outputs of two quick runs
    into one folder, and calls a figure missing rather than reuse one older than ``--since``."""
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    out = tmp_path / "bench"
    stale = out / "sim.json"
    out.mkdir()
    stale.write_text("{}")  # an earlier run's file: must be ignored, not parsed
    os.utime(stale, (1, 1))
    for script, target in (("bench_clock.py", "clock.json"), ("bench_remote.py", "remote.json")):
        subprocess.run(
            [sys.executable, f"benchmarks/{script}", "--quick", "--out", str(out / target)],
            check=True,
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=TIMEOUT_S,
        )
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import summary
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    lines = {
        point.split()[0]: (measured, verdict)
        for point, measured, verdict in summary.summarize(out, since=10.0)
    }
    assert lines["1"] == ("-", "no figure")  # the stale sim.json
    assert lines["2"][1] in ("met", "NOT met") and lines["2"][0].endswith("x)")
    assert lines["5a"][1] in ("met", "NOT met") and lines["5b"][0].endswith(" ms")
    assert lines["6"][0].startswith("2 of ")
