"""examples/wire_client_node: a Node.js client (the real npm packages ``zeromq`` 6.8.0 and
``@msgpack/msgpack`` 3.1.3, pinned by the example's package-lock.json, installed with
``npm ci`` into a temporary directory) talks to a real ``groot serve`` subprocess over
loopback in the N1.6 dialect.

Skipped, with the reason, when node or npm is missing or the packages do not install (no
registry access): nothing here needs the network once they are installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from groot_sdk.plugins import get_registry
from groot_sdk.policy.factory import make_backend

pytestmark = pytest.mark.timeout(600)

EXAMPLE = Path(__file__).parents[1] / "examples" / "wire_client_node"


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory) -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not on PATH: the Node.js wire client cannot run")
    work = tmp_path_factory.mktemp("wire_client_node")
    for name in ("package.json", "package-lock.json", "client.mjs"):
        shutil.copy(EXAMPLE / name, work / name)
    try:
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=work,
            capture_output=True,
            check=False,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm ci took over 300 s (registry unreachable?)")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        pytest.skip(f"npm ci failed: {' | '.join(tail)}")
    check = subprocess.run(
        [node, "-e", "require('zeromq'); require('@msgpack/msgpack')"],
        cwd=work,
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    if check.returncode != 0:
        pytest.skip(f"zeromq's native module does not load here: {check.stderr.strip()[-200:]}")
    return work


class Serve:
    """``groot serve ARGS --port 0`` in a subprocess; ``port`` once it prints its address."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "groot_sdk.cli.main", "serve", *args, "--port", "0"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
        )
        self.lines: list[str] = []
        self._found = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._found.wait(60):
            self.close()
            raise RuntimeError(f"groot serve did not start: {self.lines[-5:]}")
        line = next(x for x in self.lines if x.startswith("serving "))
        self.port = int(line.split(" on tcp://")[1].split(" ")[0].rsplit(":", 1)[1])

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if line.startswith("serving "):
                self._found.set()
        self._found.set()  # exited

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def run_client(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", "client.mjs", *args],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def expected_shapes(policy: str, **options) -> tuple[dict, dict]:
    spec = get_registry().embodiment("so101").spec
    layout = make_backend(policy, spec, options).layout
    shapes = {k.key: [1, layout.action_horizon, k.dim] for k in layout.action}
    return shapes, {"state": [k.key for k in layout.state], "video": [v.name for v in layout.video]}


def test_node_client_gets_a_chunk_in_the_layout(client_dir):
    """ping, get_modality_config, groot_sdk.layout and get_action from Node; the printed
    action shapes are the served layout's (batch 1, horizon, dim per group)."""
    server = Serve("-e", "so101", "-p", "sinusoid")
    try:
        proc = run_client(client_dir, "--port", str(server.port), "--task", "wave")
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    shapes, keys = expected_shapes("sinusoid")
    assert out["ping"] == "ok"
    assert out["action_shapes"] == shapes
    assert out["modality_keys"]["state"] == keys["state"]
    assert "video" not in out["modality_keys"]  # the sinusoid policy reads no camera
    for key, values in out["first_step"].items():
        assert len(values) == shapes[key][2] and np.isfinite(values).all()
    assert any(v != 0 for values in out["first_step"].values() for v in values)


def test_node_client_sends_camera_frames_and_the_token(client_dir):
    """With cameras in the layout the client sends 224x224 uint8 frames (.npy, |u1) that the
    server validates; the API token goes with every request, a wrong one is refused."""
    server = Serve("-e", "so101", "-p", "zero", "--policy-opt", "video=true", "--api-token", "t0k")
    try:
        ok = run_client(client_dir, "--port", str(server.port), "--api-token", "t0k")
        bad = run_client(client_dir, "--port", str(server.port), "--api-token", "nope")
    finally:
        server.close()
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout.strip().splitlines()[-1])
    shapes, keys = expected_shapes("zero", video=True)
    assert out["modality_keys"]["video"] == keys["video"] == ["front", "wrist"]
    assert out["action_shapes"] == shapes
    assert all(v == 0 for values in out["first_step"].values() for v in values)
    assert bad.returncode == 1 and "Unauthorized" in bad.stderr


def test_node_client_times_out_without_a_server(client_dir):
    """No server: the REQ socket's receive timeout ends the client with an error, no hang."""
    from socket import socket

    with socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run_client(client_dir, "--port", str(port), "--timeout-ms", "300")  # 60 s cap
    assert proc.returncode == 1 and "client.mjs:" in proc.stderr
