"""`groot teleop` end to end: the SO-101 leader arm on a simulated bus (a pty speaking the
STS3215 protocol) driving the simulated follower and recording; a keyboard driving Fetch to a
reach success; scripted episode keys."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from groot_sdk.cli.main import cli

pytest.importorskip("serial", reason="pyserial (extra 'serial') runs the leader's bus")
pytest.importorskip("mujoco", reason="the simulators need mujoco (extra 'sim')")

#: one STS3215 tick (2 pi / 4096 rad): the leader -> follower command is exact to the tick
TICK = 2 * math.pi / 4096


def _invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def _leader_trajectory(spec, n):
    t = np.arange(n) / spec.rates.policy_hz
    d, lo, hi = np.array(spec.defaults), np.array(spec.lower), np.array(spec.upper)
    room = np.minimum(d - lo, hi - d)
    return d + 0.4 * room * np.sin(2 * np.pi * 0.3 * t[:, None] + np.arange(spec.dof))


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("fmt", ["v2.1", "v3.0"])
def test_leader_drives_sim_follower_and_records_two_episodes(tmp_path, so101_spec, fmt):
    """`groot teleop -e so101 --sim --device leader --fake-hardware --record DIR --episodes 2`
    (and ``--format v3.0``)
    with a scripted leader trajectory (one row per position read on the simulated leader
    bus) and scripted keys: start, save, start, save. The recorded commands are the leader's
    joints to within one servo tick (the gripper mapped by range); the follower's measured
    joints track them (MuJoCo's position servos sag under gravity, most at shoulder_lift);
    the dataset validates."""
    spec = so101_spec
    leader = _leader_trajectory(spec, 200)
    (tmp_path / "leader.json").write_text(json.dumps(leader.tolist()))
    keys = [
        {"t": 0.2, "key": "space"},
        {"t": 1.2, "key": "enter"},
        {"t": 1.5, "key": "space"},
        {"t": 2.5, "key": "enter"},
    ]
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    ds = tmp_path / "ds"
    result = _invoke(
        "teleop", "-e", "so101", "--sim", "--device", "leader", "--fake-hardware",
        "--record", ds, "--episodes", 2, "--rate", 0, "--json", "--format", fmt,
        "--device-opt", f"script={tmp_path / 'leader.json'}",
        "--input-script", tmp_path / "keys.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["teleop"]["saved"] == 2 and report["teleop"]["discarded"] == 0
    assert report["stop_reason"] == "recorded 2 episode(s)"
    assert report["safety_stops"] == 0 and report["holds"] == 0
    assert report["recording"]["episodes_recorded"] == 2

    from groot_sdk.data.reader import Dataset
    from groot_sdk.data.validate import validate

    assert validate(ds, spec).ok
    data = Dataset(ds)
    assert json.loads((ds / "meta" / "info.json").read_text())["codebase_version"] == fmt
    assert len(data.episode_indices) == 2
    for i in data.episode_indices:
        ep = data.episode(i, ["observation.state", "action"])
        state, action = np.stack(ep["observation.state"]), np.stack(ep["action"])
        assert len(action) >= 25  # ~1 s at 30 fps
        # the commands are consecutive leader rows (the take starts somewhere in the script)
        errs = [
            np.abs(action - leader[o : o + len(action)]).max()
            for o in range(len(leader) - len(action))
        ]
        assert min(errs) <= TICK, f"commands differ from the leader by {min(errs):.4f} rad"
        # the follower tracks: best lag of 0..3 policy steps, RMS over all joints
        rms = min(
            float(np.sqrt(((state[lag:] - action[: len(action) - lag]) ** 2).mean()))
            for lag in range(4)
        )
        assert rms < 0.1, f"follower RMS tracking error {rms:.3f} rad"


@pytest.mark.timeout(300)
def test_leader_drives_fake_hardware_follower(tmp_path, so101_spec):
    """Without --sim, --fake-hardware puts the follower on a simulated STS3215 bus too (a
    second pty): the same driver as on the robot, the wall-clock velocity bound of real
    hardware, real time. The commands follow the leader; the follower's servos track them."""
    spec = so101_spec
    leader = _leader_trajectory(spec, 120)
    (tmp_path / "leader.json").write_text(json.dumps(leader.tolist()))
    keys = [{"t": 0.1, "key": "space"}, {"t": 1.0, "key": "enter"}]
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    ds = tmp_path / "ds"
    result = _invoke(
        "teleop", "-e", "so101", "--device", "leader", "--fake-hardware", "--record", ds,
        "--device-opt", f"script={tmp_path / 'leader.json'}",
        "--input-script", tmp_path / "keys.json", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["hardware_velocity_clock"] == "measured"
    assert report["teleop"]["saved"] == 1 and report["safety_stops"] == 0

    from groot_sdk.data.reader import Dataset
    from groot_sdk.data.validate import validate

    assert validate(ds, spec).ok
    ep = Dataset(ds).episode(0, ["observation.state", "action"])
    state, action = np.stack(ep["observation.state"]), np.stack(ep["action"])
    # real time on a shared machine: a late tick followed by a quick one is shortened by the
    # wall-clock velocity bound, so commands match the leader in RMS here, not to the tick
    # (the --sim test checks the exact mapping)
    errs = [
        float(np.sqrt(((action - leader[o : o + len(action)]) ** 2).mean()))
        for o in range(len(leader) - len(action))
    ]
    assert min(errs) < 0.05, f"commands differ from the leader by {min(errs):.3f} rad RMS"
    rms = min(
        float(np.sqrt(((state[lag:] - action[: len(action) - lag]) ** 2).mean()))
        for lag in range(4)
    )
    assert rms < 0.15, f"follower RMS tracking error {rms:.3f} rad"


def _fetch_reach_script(seed):
    """Key presses that move Fetch's gripper from its start to the goal of episode ``seed``,
    computed from the simulator's own start state (as an operator looking at it would) and
    the distance one step of a held key covers (measured first, as an operator learns it:
    the mocap-driven gripper covers about 2/3 of the commanded 2.5 cm per step)."""
    pytest.importorskip("gymnasium_robotics", reason="Fetch needs gymnasium-robotics")
    from groot_sdk.plugins import get_registry

    entry = get_registry().embodiment("fetch")
    robot = entry.make_sim(seed=seed, render=False)
    names = entry.spec.state_names
    gi = [names.index(n) for n in ("grip_x", "grip_y", "grip_z")]
    with robot:
        robot.connect()
        robot.enable()
        robot.episodic.reset(seed=seed + 1000)  # another episode to learn the speed on
        before = robot.read_state()[gi]
        for _ in range(5):
            robot.write(np.array([0.5, 0.0, 0.0, 0.0], np.float32))  # 'w' at the default speed
        per_step = float(robot.read_state()[gi][0] - before[0]) / 5
        robot.episodic.reset(seed=seed)
        state = robot.read_state()
    assert 0.005 < per_step < 0.03, per_step
    grip = state[gi]
    goal = state[[names.index(n) for n in ("goal_x", "goal_y", "goal_z")]]
    events, t0, end = [{"t": 0.04, "key": "space"}], 0.1, 0.1
    for delta, (plus, minus) in zip(goal - grip, (("w", "s"), ("a", "d"), ("r", "f"))):
        steps = round(abs(delta) / per_step)
        if steps == 0:
            continue
        key = plus if delta > 0 else minus
        events += [
            {"t": t0, "key": key, "value": 1},
            {"t": t0 + steps * 0.04, "key": key, "value": 0},
        ]
        end = max(end, t0 + steps * 0.04)
    events.append({"t": end + 0.6, "key": "enter"})
    return events, float(np.linalg.norm(goal - grip))


@pytest.mark.timeout(300)
def test_keyboard_drives_fetch_to_reach_success(tmp_path):
    """Scripted key events (w/s, a/d, r/f held for as long as the distance needs) move the
    simulated Fetch's gripper to the goal: the take ends with the env's success (within its
    5 cm threshold)."""
    events, start_distance = _fetch_reach_script(seed=3)
    assert start_distance > 0.05  # not already a success
    (tmp_path / "keys.json").write_text(json.dumps(events))
    result = _invoke(
        "teleop", "-e", "fetch", "--sim", "--device", "keyboard", "--rate", 0, "--seed", 3,
        "--input-script", tmp_path / "keys.json", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["teleop"]["saved"] == 1
    assert report["episode_success"] == [True], report
    assert report["safety_stops"] == 0


@pytest.mark.timeout(300)
def test_discard_then_quit_keeps_nothing(tmp_path):
    """backspace discards the take and starts it again; q quits: nothing saved, exit 0."""
    pytest.importorskip("gymnasium_robotics", reason="Fetch needs gymnasium-robotics")
    keys = [
        {"t": 0.1, "key": "space"},
        {"t": 0.5, "key": "backspace"},
        {"t": 0.8, "key": "space"},
        {"t": 1.2, "key": "q"},
    ]
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    result = _invoke(
        "teleop", "-e", "fetch", "--sim", "--device", "keyboard", "--rate", 0,
        "--input-script", tmp_path / "keys.json", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    t = json.loads(result.stdout)["teleop"]
    assert t == {"saved": 0, "discarded": 2, "takes": 2, "saved_lengths": []}
    assert "quit by the operator" in result.stdout


def test_bad_options_are_one_line_errors(tmp_path):
    bad = tmp_path / "keys.json"
    bad.write_text('[{"t": -1, "key": "w"}]')
    r = _invoke("teleop", "-e", "fetch", "--sim", "-d", "keyboard", "--input-script", bad)
    assert r.exit_code != 0 and "'t' must be a finite time" in r.output
    r = _invoke("teleop", "-e", "fetch", "--sim", "-d", "leader", "--input-script", bad)
    assert r.exit_code != 0
    # an unknown device is named with the robot's devices, before a terminal is asked for
    r = _invoke("teleop", "-e", "fetch", "--sim", "-d", "leader")
    assert r.exit_code == 2 and "'leader' is not a device of fetch" in r.output
    assert "keyboard, gamepad" in r.output
    r = _invoke("teleop", "-e", "so101", "-d", "keyboard", "--rate", "0")
    assert r.exit_code != 0 and "--rate" in r.output
    # no terminal and no script: said before anything starts
    r = _invoke("teleop", "-e", "fetch", "--sim", "-d", "keyboard")
    assert r.exit_code == 2 and "needs a terminal" in r.output and "--input-script" in r.output
