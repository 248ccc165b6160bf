"""GR00T N1.7 through the CLI (benchmark, run in simulation) and the benchmark scripts (no timed asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_groot_benchmark_runs_n17(tmp_path):
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli
    from groot_sdk.models.gr00t_n17.tiny import build_tiny_checkpoint

    ckpt = build_tiny_checkpoint(tmp_path / "ckpt")
    args = ["benchmark", "--policy", "torch", "--policy-opt", f"checkpoint={ckpt}"]
    args += ["--policy-opt", "seed=0", "--calls", "2", "--warmup", "0", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    reports = list(tmp_path.glob("*.json"))
    assert reports and len(json.loads(reports[0].read_text())["samples_ms"]) == 2


def test_bench_n17_quick(tmp_path):
    run = subprocess.run(
        [sys.executable, "bench_n17.py", "--quick", "--out", str(tmp_path)],
        cwd=ROOT / "benchmarks",
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads((tmp_path / "n17.json").read_text())
    assert set(report["ratios_n17_over_n15"]) == {"torch get_action", "torch model"}
    assert all(v > 0 for v in report["ratios_n17_over_n15"].values())


def test_gpu_check_without_gpu_says_why(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--out", str(tmp_path)],
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )
    import torch

    if torch.cuda.is_available():  # a GPU machine runs the real check instead
        return
    assert run.returncode == 2, run.stdout + run.stderr
    assert "cannot check TensorRT here" in run.stdout


def test_groot_run_so101_sim_with_n17(tmp_path):
    """The deployer drives the simulated SO-101 with an N1.7 checkpoint (flat keys in/out)."""
    import pytest

    pytest.importorskip("mujoco", reason="the SO-101 simulator needs the sim extra")
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli
    from groot_sdk.models.gr00t_n17.tiny import build_tiny_checkpoint

    arm = {"single_arm": 5, "gripper": 1}
    ckpt = build_tiny_checkpoint(
        tmp_path / "ckpt", state=arm, action=arm, cameras=("front", "wrist")
    )
    args = ["run", "-e", "so101", "--sim", "-p", "torch", "--policy-opt", f"checkpoint={ckpt}"]
    args += ["--policy-opt", "seed=0", "--seconds", "0.5", "--rate", "0", "--sync"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "safety stops 0" in result.output and "holds 0" in result.output
