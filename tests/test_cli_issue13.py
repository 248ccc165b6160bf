"""Issue 13's findings on the CLI, each as the command a new user typed (findings 1, 2, 3, 8
and 9; 4 and 7 are in tests/test_cli_bad_inputs.py, 5 in tests/data/test_data_validate.py,
the conformance kit's part of 1 in tests/test_plugins.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from groot_sdk.cli.main import main

pytestmark = pytest.mark.timeout(300)


def groot(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err[-3000:]
    return code, out, err


# -- finding 1: groot list promised a Fetch driver that does not exist ------------------------


def test_list_promises_only_hardware_that_resolves(capsys):
    from groot_sdk.plugins import get_registry
    from groot_sdk.testing import check_entry_points

    code, out, _ = groot(["list", "--json"], capsys)
    assert code == 0
    listed = {e["name"]: e for e in json.loads(out)["embodiments"]}
    assert listed["fetch"]["hardware"] is False and listed["fetch"]["sim"] is True
    for name in listed:
        check_entry_points(get_registry().embodiment(name))  # raises for a missing module


def test_fetch_without_sim_is_one_line(capsys):
    code, _, err = groot(
        ["run", "-e", "fetch", "-p", "scripted", "--task", "reach", "--episodes", "1"], capsys
    )
    assert code == 2 and err.strip().splitlines() == [
        "error: embodiment 'fetch' has no hardware driver (it has a simulator: groot run --sim)"
    ]


# -- finding 2: every episodic simulator ends; eval has a time limit --------------------------


@pytest.mark.parametrize("name", ["bhl", "g1_inspire"])
def test_humanoid_sims_have_an_episode_length(name):
    from groot_sdk.plugins import get_registry

    robot = get_registry().embodiment(name).make_sim(render=False)
    try:
        episode = robot.episodic
        assert episode.max_steps is not None and episode.max_steps > 0
        assert episode.max_steps * robot.spec.rates.policy_dt == pytest.approx(20.0)
    finally:
        robot.close()


def test_eval_bhl_hold_ends(capsys):
    """The finding's command hung at 0/2 while the robot stood; on the gantry (a fixed base,
    it cannot fall) only the episode length ends an episode: two whole default episodes
    (20 s of sim time each), then the verdict."""
    from groot_sdk.plugins import get_registry

    policy_dt = get_registry().embodiment("bhl").spec.rates.policy_dt
    code, out, err = groot(
        ["eval", "-e", "bhl", "--sim", "--task", "gantry", "-p", "hold", "-n", "2", "--json"],
        capsys,
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["episodes"] == 2 and doc["mean_length"] == pytest.approx(round(20 / policy_dt))
    assert doc["sim_model"]["model"] == "published"


def test_eval_seconds_limits_each_episode(capsys):
    from groot_sdk.plugins import get_registry

    policy_dt = get_registry().embodiment("bhl").spec.rates.policy_dt
    code, out, err = groot(
        ["eval", "-e", "bhl", "--sim", "-p", "hold", "-n", "2", "--seconds", "0.4", "--json"],
        capsys,
    )
    assert code == 0, err
    doc = json.loads(out)
    steps = round(0.4 / policy_dt)
    assert doc["episodes"] == 2 and doc["mean_length"] == pytest.approx(steps), doc


def test_eval_seconds_longer_than_the_simulators_own(capsys):
    """--seconds also lengthens an episode past the simulator's max_steps (Fetch: 50 steps)."""
    code, out, err = groot(
        ["eval", "-e", "fetch", "--sim", "-p", "zero", "-n", "1", "--seconds", "3", "--json"],
        capsys,
    )
    assert code == 0, err
    from groot_sdk.plugins import get_registry

    policy_dt = get_registry().embodiment("fetch").spec.rates.policy_dt
    assert json.loads(out)["mean_length"] == pytest.approx(round(3 / policy_dt))


# -- finding 3: the README's benchmark form ------------------------------------------------


def test_benchmark_without_embodiment(tmp_path, capsys):
    code, _out, err = groot(
        ["benchmark", "--policy", "sinusoid", "--calls", "3", "--warmup", "0"]
        + ["--out", str(tmp_path)],
        capsys,
    )
    assert code == 0, err
    assert "'sinusoid' on so101" in err
    report = json.loads((tmp_path / "sinusoid.json").read_text())
    assert report["calls"] == 3 and len(report["samples_ms"]) == 3


# -- finding 8: the generated N1.5 config names its own module -------------------------------


def test_n15_config_docstring_names_its_module(tmp_path, capsys):
    out_file = tmp_path / "my_robot_cfg.py"
    code, out, err = groot(
        ["finetune-config", "so101", "--model", "n1.5", "--dataset", str(tmp_path / "ds")]
        + ["--out", str(out_file)],
        capsys,
    )
    assert code == 0, err
    text = out_file.read_text()
    assert "--data-config my_robot_cfg:So101DataConfig" in text
    assert "{module}" not in text
    assert "--data-config my_robot_cfg:So101DataConfig" in out  # the printed command agrees


# -- finding 9 -----------------------------------------------------------------------------


def test_list_hides_the_hint_for_installed_extras(capsys, monkeypatch):
    from importlib import metadata

    from groot_sdk.cli.commands import list as list_cmd

    _, out, _ = groot(["list", "--json"], capsys)
    backends = {b["name"]: b for b in json.loads(out)["backends"]}
    _, text, _ = groot(["list"], capsys)
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    for name, b in backends.items():
        assert ("[needs groot-sdk[" in lines[name]) == bool(b["missing"]), lines[name]
    # the test environment has the sim extra (mujoco, gymnasium): ik's hint is gone
    assert backends["ik"]["extra"] == "sim" and backends["ik"]["missing"] == []
    assert list_cmd.missing_for_extra("no_such_extra")
    real = metadata.distribution

    def without_mujoco(name):
        if name.lower() == "mujoco":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(list_cmd.metadata, "distribution", without_mujoco)
    assert list_cmd.missing_for_extra("sim") == ["mujoco"]
    _code, text, _ = groot(["list"], capsys)
    assert "[needs groot-sdk[sim]]" in next(li for li in text.splitlines() if " ik " in li)


def test_exit_status_of_stops():
    from groot_sdk.cli.commands.run import exit_status
    from groot_sdk.deploy.base import RunReport

    assert exit_status(RunReport(stop_reason="completed")) == 0
    assert exit_status(RunReport(stop_reason="interrupted (SIGTERM)")) == 143
    assert exit_status(RunReport(stop_reason="interrupted (SIGHUP)")) == 129
    assert exit_status(RunReport(stop_reason="interrupted")) == 130
    assert exit_status(RunReport(stop_reason="watchdog", safety_stops=1)) == 3


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_sigterm_exits_143_in_text_and_json(tmp_path, as_json):
    """A run stopped by SIGTERM said 'interrupted (SIGTERM)' and exited 0."""
    telemetry = tmp_path / "t.jsonl"
    argv = [sys.executable, "-m", "groot_sdk.cli.main", "run", "-e", "so101", "--sim"]
    argv += ["-p", "hold", "--seconds", "120", "--telemetry", str(telemetry)]
    argv += ["--json"] if as_json else []
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 90
        while not (telemetry.exists() and telemetry.stat().st_size > 0):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the loop never started"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, (out, err)
    if as_json:
        assert json.loads(out)["stop_reason"] == "interrupted (SIGTERM)"
    else:
        assert "(interrupted (SIGTERM))" in out


def test_summary_line_reports_the_real_period_and_overruns():
    """A BHL run with 218 overruns said 'jitter p99 3.987 ms' and nothing else about it."""
    from groot_sdk.cli.commands.run import falling_behind, summary_line

    r = {
        "episodes": 1,
        "success_rate": None,
        "steps": 1000,
        "loop_hz": 4.9,
        "period_ms_p99": 210.5,
        "rate_hz": 60.0,
        "jitter_ms_p99": 3.987,
        "overruns": 218,
        "holds": 0,
        "safety_stops": 0,
        "stop_reason": "completed",
    }
    line = summary_line("so101", r)
    assert "period p99 210.500 ms (nominal 16.667)" in line and "overruns 218" in line
    warning = falling_behind(r)
    assert "4.9 Hz instead of 60 Hz" in warning and "218 overruns" in warning
    assert falling_behind({**r, "loop_hz": 59.0}) == ""
    assert falling_behind({**r, "rate_hz": 0.0}) == ""  # lock-step: no real time to keep


def test_a_run_that_cannot_keep_up_warns(capsys, monkeypatch):
    """A real-time run slowed below its rate (here: every write takes 40 ms, as a slow
    recorder did) says so on stderr and in --json."""
    from groot_sdk.embodiment import Embodiment

    write = Embodiment.write

    def slow_write(self, *args, **kwargs):
        time.sleep(0.04)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(Embodiment, "write", slow_write)
    code, out, err = groot(
        ["run", "-e", "so101", "--sim", "-p", "hold", "--seconds", "0.5", "--json"], capsys
    )
    assert code == 0, err
    assert "warning: the loop ran at" in err and "instead of 60 Hz" in err
    assert json.loads(out)["behind_real_time"] is True


def test_run_names_the_simulated_model(capsys):
    code, out, err = groot(
        ["run", "-e", "bhl", "--sim", "-p", "hold", "--seconds", "0.1", "--rate", "0"], capsys
    )
    assert code == 0, err
    model_lines = [line for line in err.splitlines() if line.startswith("bhl: model ")]
    assert len(model_lines) == 1 and "published" in model_lines[0]
    assert "bhl_scene.xml" in model_lines[0]
    code, out, err = groot(
        ["run", "-e", "bhl", "--sim", "-p", "hold", "--seconds", "0.1", "--rate", "0", "--json"],
        capsys,
    )
    info = json.loads(out)["sim_model"]
    assert info["model"] == "published" and Path(info["path"]).name == "bhl_scene.xml"
