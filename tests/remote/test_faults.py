"""Faults: the server dies mid-episode and comes back; the robot side must notice in time,
hold, stop safely, and work again once the server is back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from groot_sdk.errors import BackendError
from groot_sdk.policy.factory import make_backend
from groot_sdk.policy.observation import assemble_observation
from groot_sdk.remote.client import PolicyTimeoutError


def _obs(spec):
    frames = {c.name: np.zeros((c.height, c.width, 3), np.uint8) for c in spec.cameras}
    return assemble_observation(spec, np.zeros(spec.state_dim, np.float32), frames, "pick")


def test_kill_and_restart(wire, so101_spec):
    port = wire.free_port()
    args = ("--embodiment", "so101", "--policy", "hold", "--policy-opt", "video=true")
    proc, _ = wire.start_serve(*args, port=port)
    timeout_ms = 500
    backend = make_backend(f"remote://127.0.0.1:{port}", so101_spec, {"timeout_ms": timeout_ms})
    obs = _obs(so101_spec)
    try:
        assert backend.get_action(obs)["action.single_arm"].shape == (16, 5)
        proc.kill()  # SIGKILL mid-episode: no goodbye on the socket
        proc.wait(10)
        for _ in range(2):  # the socket is rebuilt: the second call times out the same way
            start = time.monotonic()
            with pytest.raises(PolicyTimeoutError, match="no reply"):
                backend.get_action(obs)
            elapsed = time.monotonic() - start
            assert elapsed < timeout_ms / 1e3 + 0.3, f"timeout took {elapsed:.3f} s"
        assert isinstance(PolicyTimeoutError("x"), BackendError)
        assert backend.stats.timeouts == 2
        proc, _ = wire.start_serve(*args, port=port)
        chunk = backend.get_action(obs)  # the very next call after the restart succeeds
        assert chunk["action.gripper"].shape == (16, 1)
        assert backend.ping()
    finally:
        backend.close()
        wire.stop(proc)


def test_unreachable_server_fails_at_connect_within_the_limit(wire, so101_spec):
    port = wire.free_port()
    start = time.monotonic()
    with pytest.raises(PolicyTimeoutError, match=f"127.0.0.1:{port}"):
        make_backend(
            f"remote://127.0.0.1:{port}", so101_spec, {"timeout_ms": 300, "connect_timeout_ms": 300}
        )
    assert time.monotonic() - start < 1.5


def _run(*args: str) -> subprocess.Popen:
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "groot_sdk.cli.main",
            "run",
            "--embodiment",
            "fetch",
            "--sim",
            "--task",
            "reach",
            "--json",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _report(proc: subprocess.Popen, timeout: float, status: int = 0) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == status, err[-2000:]
    return json.loads(out[out.index("{") :])


@pytest.fixture
def fetch_available():
    pytest.importorskip("gymnasium_robotics", reason="the Fetch simulator needs gymnasium-robotics")
    pytest.importorskip("mujoco", reason="the Fetch simulator needs mujoco")


@pytest.mark.slow
def test_groot_run_remote_matches_local_success_rate(wire, fetch_available):
    proc, port = wire.start_serve("--embodiment", "fetch", "--policy", "scripted")
    try:
        common = ("--episodes", "4", "--rate", "0", "--seed", "3")
        local = _report(_run("--policy", "scripted", *common), 240)
        remote = _report(_run("--policy", f"remote://127.0.0.1:{port}", *common), 240)
    finally:
        wire.stop(proc)
    assert local["episodes"] == remote["episodes"] == 4
    assert local["success_rate"] is not None and local["success_rate"] > 0
    assert remote["success_rate"] == local["success_rate"]
    assert remote["holds"] == 0 and remote["safety_stops"] == 0


@pytest.mark.slow
def test_deployer_holds_then_stops_safely_when_the_server_dies(wire, tmp_path, fetch_available):
    proc, port = wire.start_serve("--embodiment", "fetch", "--policy", "scripted")
    telemetry = tmp_path / "ticks.jsonl"
    run = _run(
        "--policy",
        f"remote://127.0.0.1:{port}",
        "--policy-opt",
        "timeout_ms=400",
        "--timeout",
        "0.5",
        "--episodes",
        "1",
        "--seconds",
        "300",  # one long episode: the kill surely lands mid-episode
        "--telemetry",
        str(telemetry),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            if telemetry.exists() and telemetry.stat().st_size > 0:  # the loop is running
                break
            time.sleep(0.05)
        assert run.poll() is None, "groot run ended before the server was killed"
        proc.kill()
        killed_at = time.monotonic()
        report = _report(run, 60, status=3)  # a safety stop exits 3, with --json too
        stopped_after = time.monotonic() - killed_at
    finally:
        wire.stop(proc)
        if run.poll() is None:
            run.kill()
    assert report["steps"] < 300 * 25  # stopped mid-episode (not counted as an episode)
    assert report["holds"] >= 1
    assert report["safety_stops"] >= 1
    assert "watchdog" in report["stop_reason"] or "policy" in report["stop_reason"]
    assert stopped_after < 10
    modes = [json.loads(line)["mode"] for line in telemetry.read_text().splitlines() if line]
    first_hold = modes.index("hold")
    assert modes[first_hold - 1] != "hold"  # it was moving, then held until the stop
    assert all(m == "hold" for m in modes[first_hold:])
