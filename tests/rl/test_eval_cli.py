"""groot eval and groot train-residual on the Fetch simulator (gymnasium-robotics)."""

import json

import pytest
from click.testing import CliRunner

from groot_sdk.cli.main import cli

pytest.importorskip("gymnasium_robotics")


def run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_eval_scripted_proceeds():
    out = run("eval", "--embodiment", "fetch", "--sim", "--policy", "scripted", "--episodes", "100")
    rate = float(out.split("success rate")[1].split()[0])
    assert rate >= 0.95
    assert "Wilson CI" in out and "mean distance" in out and "episode return" in out
    assert "verdict        proceed" in out


def test_eval_zero_domain_gap_json():
    out = run("eval", "-e", "fetch", "--sim", "-p", "zero", "-n", "100", "--no-video", "--json")
    doc = json.loads(out)
    assert doc["episodes"] == 100 and doc["success_rate"] < 0.05
    assert doc["verdict"] == "domain gap too large"
    assert doc["ci_low"] <= doc["success_rate"] <= doc["ci_high"]
    assert doc["mean_distance"] > 0.05  # the gripper never moves onto the goal


def test_eval_zero_with_camera_frames():
    """Without --no-video the zero policy's layout asks for the front camera: frames are rendered."""
    doc = json.loads(run("eval", "-e", "fetch", "--sim", "-p", "zero", "-n", "2", "--json"))
    assert doc["verdict"] == "domain gap too large"


def test_eval_needs_sim():
    result = CliRunner().invoke(cli, ["eval", "-e", "fetch", "-p", "zero"])
    assert result.exit_code != 0 and "--sim" in result.output


@pytest.mark.slow
def test_train_residual_cli(tmp_path):
    out = tmp_path / "run"
    text = run(
        "train-residual", "--embodiment", "fetch", "--base", "scripted",
        "--offset", "0.8,-0.8,0.8,0", "--alpha", "1", "--steps", "2048", "--eval-episodes", "5",
        "--checkpoint-every", "1024", "--out", str(out), "--json",
    )  # fmt: skip
    doc = json.loads(text)
    assert doc["base"]["episodes"] == 5 and doc["final"]["episodes"] == 5
    assert (out / "logs" / "progress.csv").read_text().count("\n") >= 2
    assert (out / "checkpoints" / "residual_1024.safetensors").exists()
    assert json.loads((out / "report.json").read_text())["config"]["alpha"] == 1.0
    # the result deploys: as a backend in groot eval and through the real-time deployer
    opt = f"path={out}"
    doc = json.loads(run("eval", "-e", "fetch", "--sim", "-p", "residual", "--policy-opt", opt,
                         "-n", "3", "--json"))  # fmt: skip
    assert doc["episodes"] == 3
    report = json.loads(run("run", "-e", "fetch", "--sim", "-p", "residual", "--policy-opt", opt,
                            "--rate", "0", "--episodes", "2", "--json"))  # fmt: skip
    assert report["episodes"] == 2 and report["safety_stops"] == 0
    with pytest.raises(Exception, match="4 values"):
        CliRunner().invoke(
            cli, ["train-residual", "--base", "scripted", "--offset", "1,2"],
            catch_exceptions=False, standalone_mode=False,
        )  # fmt: skip
