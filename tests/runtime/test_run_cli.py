"""`groot run` end to end on the simulated Fetch (lock-step: sim time faster than real time)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from groot_sdk.cli.main import cli

pytest.importorskip("gymnasium_robotics", reason="the Fetch simulator needs gymnasium-robotics")
pytest.importorskip("groot_sdk_fetch", reason="the fetch plugin is not installed")


def run(*args):
    result = CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)
    return result


def test_fetch_scripted_reach_50_episodes_json():
    # --rate 0: lock-step, as fast as the simulator goes (the README's demo runs in real time)
    result = run(
        "--embodiment", "fetch", "--sim", "--policy", "scripted", "--task", "reach",
        "--episodes", "50", "--rate", "0", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for key in ("episodes", "success_rate", "steps", "loop_hz", "jitter_ms_p99", "overruns",
                "safety_stops"):  # fmt: skip
        assert key in report
    assert report["episodes"] == 50 and report["steps"] == 50 * 50
    assert report["success_rate"] >= 0.95
    assert report["safety_stops"] == 0 and report["stop_reason"] == "completed"


def test_fetch_real_time_text_report_telemetry_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    tel, png = tmp_path / "tel.jsonl", tmp_path / "loop.png"
    result = run(
        "-e", "fetch", "--sim", "--policy", "scripted", "--task", "reach", "--seconds", "0.4",
        "--telemetry", str(tel), "--plot", str(png),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "fetch: 1 episode(s)" in result.output and "jitter p99" in result.output
    rows = [json.loads(line) for line in tel.read_text().splitlines()]
    assert len(rows) == 10 and all(r["mode"] == "run" for r in rows)
    assert png.is_file()


def test_hold_without_episodes_and_bad_options():
    result = run("-e", "fetch", "--sim", "--policy", "zero", "--seconds", "0.2", "--rate", "0",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["steps"] == 5
    bad = CliRunner().invoke(cli, ["run", "-e", "fetch", "--sim", "--command", "1,2"])
    assert bad.exit_code == 2 and "--command: takes 3" in bad.output
    bad = CliRunner().invoke(cli, ["run", "-e", "fetch", "--sim", "--action-map", "{nope"])
    assert bad.exit_code != 0 and "--action-map" in bad.output


def test_record_a_dataset(tmp_path):
    pytest.importorskip("av")
    out = tmp_path / "ds"
    result = run("-e", "fetch", "--sim", "--policy", "scripted", "--task", "reach",
                 "--episodes", "2", "--rate", "0", "--record", str(out), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2 and info["total_frames"] == 100
    assert np.isclose(info["fps"], 25)


def test_so101_ik_follows_each_episodes_instruction():
    pytest.importorskip("groot_sdk_so101.sim", reason="the SO-101 simulator is not installed")
    # the ik baseline reads its target from the instruction, which changes every episode
    result = run("-e", "so101", "--sim", "--policy", "ik", "--episodes", "4", "--rate", "0",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["episodes"] == 4 and report["success_rate"] >= 0.75


def test_live_status_line_only_on_a_terminal(capsys):
    from groot_sdk.cli.commands.run import _Status

    sample = {"episode": 2, "t": 1.5, "mode": "hold", "loop_hz": 249.7, "jitter_ms_p99": 0.04,
              "overruns": 1, "holds": 3, "successes": 1}  # fmt: skip
    quiet = _Status(enabled=False)
    quiet(sample)
    quiet.end()
    assert capsys.readouterr().out == ""
    live = _Status(enabled=True)
    live(sample)
    live(sample)
    live.end()
    out = capsys.readouterr().out
    assert out.startswith("\rep 2 t=   1.50s hold") and out.count("\r") == 2 and out.endswith("\n")
    assert "249.7 Hz" in out and "holds 3" in out
