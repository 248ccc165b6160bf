import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="groot finetune needs the torch extra")
pytest.importorskip("accelerate", reason="groot finetune needs the finetune extra (accelerate)")
pytest.importorskip("gymnasium_robotics", reason="the Fetch demos need gymnasium-robotics")

ROOT = Path(__file__).resolve().parents[2]
RECORD_SEED = 100_000  #: recording seeds; evaluation uses 0.. (never the same episodes)


def groot(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """`groot ...` in a subprocess (the CLI as a user runs it)."""
    run_env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "groot_sdk.cli.main", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=run_env, check=False,
    )  # fmt: skip


@pytest.fixture(scope="package")
def demos(tmp_path_factory) -> Path:
    """12 scripted FetchReach demos recorded with `groot run --record`."""
    out = tmp_path_factory.mktemp("ft") / "demos"
    done = groot("run", "-e", "fetch", "--sim", "-p", "scripted", "--task", "reach",
                 "--episodes", "12", "--rate", "0", "--seed", str(RECORD_SEED),
                 "--record", str(out), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="package")
def tiny_base(tmp_path_factory) -> Path:
    from groot_sdk.finetune.tiny import build_tiny_base

    return build_tiny_base(tmp_path_factory.mktemp("ft") / "base")


@pytest.fixture(scope="package")
def trained(demos, tiny_base, tmp_path_factory) -> Path:
    """A short fine-tune (the checkpoint-format tests need one, not a good one)."""
    out = tmp_path_factory.mktemp("ft") / "model"
    done = groot("finetune", "-e", "fetch", "--dataset", str(demos), "--base", str(tiny_base),
                 "--out", str(out), "--max-steps", "4", "--batch-size", "4", "--no-progress",
                 "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out
