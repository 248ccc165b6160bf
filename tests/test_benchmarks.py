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
