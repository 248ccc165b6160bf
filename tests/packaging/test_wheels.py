"""The built wheels in a clean venv, nothing from the source tree: ``groot run -e so101 --sim
-p ik`` and the BHL walk with the packaged model and policy (no path given).

Needs ``GROOT_WHEELS_DIR`` (the dist/ of ``nox -s build``) and the package index or a pip
cache for the dependencies; ``nox -s wheels`` builds the wheels and runs this. Skipped
otherwise (it installs MuJoCo and onnxruntime afresh: minutes, not for every test run)."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DIST = os.environ.get("GROOT_WHEELS_DIR")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DIST, reason="set GROOT_WHEELS_DIR to built wheels (nox -s wheels)"),
]


def wheel(name: str) -> str:
    found = sorted(Path(DIST or ".").resolve().glob(f"{name}-*.whl"))
    assert found, f"no {name} wheel in {DIST}"
    return str(found[-1])


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the core, so101 and bhl wheels (by file: never a same-named package
    from the index) and their sim extras; run from a directory outside the source tree."""
    root = tmp_path_factory.mktemp("clean")
    venv.create(root / "venv", with_pip=True)
    py = root / "venv" / "bin" / "python"
    subprocess.run(
        [py, "-m", "pip", "install", "-q", f"{wheel('groot_sdk')}[sim]",
         f"{wheel('groot_sdk_so101')}[sim]", f"{wheel('groot_sdk_bhl')}[sim]"],
        check=True, timeout=1200, cwd=root,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROOT_", "PYTHON"))}
    env.setdefault("MUJOCO_GL", "egl")
    env["PATH"] = f"{root / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return root, env


def run(clean, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    root, env = clean
    return subprocess.run(
        list(args), env=env, cwd=root, capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


def test_packages_come_from_the_venv(clean):
    out = run(
        clean,
        "python",
        "-c",
        "import groot_sdk, groot_sdk_bhl, groot_sdk_so101; "
        "print(groot_sdk.__file__, groot_sdk_bhl.__file__, groot_sdk_so101.__file__)",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    venv_dir = str(clean[0] / "venv")
    assert all(p.startswith(venv_dir) for p in out.stdout.split()), out.stdout


def test_so101_ik_from_wheels(clean):
    out = run(clean, "groot", "run", "-e", "so101", "--sim", "-p", "ik", "--episodes", "1",
              "--rate", "0", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["episodes"] == 1 and report["stop_reason"] == "completed", report


def test_bhl_walks_from_wheels_cli(clean):
    """The issue's command (the velocity command given: the default is zero, standing)."""
    out = run(clean, "groot", "run", "-e", "bhl", "--sim", "-p", "onnx-rl", "--seconds", "10",
              "--command", "0.3,0,0", "--rate", "0", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["stop_reason"] == "completed" and report["safety_stops"] == 0, report
    assert report["steps"] == 2500, report  # 10 s at 250 Hz: a fall would end it early


def test_bhl_walks_from_wheels_distance(clean):
    out = run(clean, "python", str(HERE / "walk_bhl.py"))
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    venv_dir = str(clean[0] / "venv")
    assert r["model"]["model"] == "published" and r["model"]["path"].startswith(venv_dir), r
    assert r["policy"].startswith(venv_dir) and r["policy"].endswith("policy_humanoid.onnx"), r
    assert r["sim_time"] == pytest.approx(10.0) and r["lowest_imu"] > 0.5, r
    assert r["moved_x"] > 1.0, r
