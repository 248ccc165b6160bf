"""SIGKILL of a recording process mid-episode leaves every finished episode valid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("av")

from groot_sdk.data.validate import validate

from .helpers import record_mock, so101_spec

SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np
    from groot_sdk.data.recorder import LeRobotRecorder
    from groot_sdk.plugins import get_registry

    spec = get_registry().embodiment("so101").spec
    rec = LeRobotRecorder(sys.argv[1], spec, task="stack")
    rng = np.random.default_rng(0)
    def step():
        frames = {c.name: rng.integers(0, 255, c.model_shape, dtype=np.uint8)
                  for c in spec.cameras}
        rec.add_step(frames, rng.normal(size=6), rng.normal(size=6), 0.0)
    for ep in range(3):
        rec.start_episode("stack")
        for _ in range(20):
            step()
        rec.end_episode(True)
    rec.flush()
    rec.start_episode("stack")
    n = 0
    while True:  # the fourth episode never ends: the parent kills us in the middle of it
        step()
        n += 1
        if n == 30:
            rec.flush()
            print("MID-EPISODE", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_mid_episode_keeps_finished_episodes(tmp_path):
    root = tmp_path / "ds"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "MID-EPISODE" in line or not line:
                break
        assert "MID-EPISODE" in line, "the recorder subprocess did not reach episode 4"
        time.sleep(0.3)  # let it encode a few more frames of the unfinished episode
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # the unfinished episode's partial files exist, but only under .incomplete/
    partial = list((root / ".incomplete").rglob("*.mp4"))
    assert partial and not (root / "data/chunk-000/episode_000003.parquet").exists()
    spec = so101_spec()
    report = validate(root, spec)
    assert report.ok, report.to_json()
    assert report.episodes == 3 and report.frames == 60
    info = json.loads((root / "meta/info.json").read_text())
    assert info["total_episodes"] == 3
    # recording again repairs the leftovers and appends after the finished episodes
    record_mock(root, spec, episodes=1, steps=4)
    report = validate(root, spec)
    assert report.ok and report.episodes == 4 and not report.warnings
    assert not (root / ".incomplete").exists()
