"""BHL in MuJoCo: the published model shipped in this package (the default), the generated
stand-in (only when asked for), and the onnx-rl locomotion backend with the packaged policies.
Nothing here reads ../shared/assets: the model and policies are package data."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from groot_sdk.sim import configure_gl
from groot_sdk.testing import assert_within_limits, run_through_deployer

configure_gl()  # before anything imports mujoco: offscreen rendering needs MUJOCO_GL set first
pytest.importorskip("mujoco", reason="needs the sim extra (mujoco)")

import groot_sdk_bhl
from groot_sdk_bhl import sim as bhl_sim
from groot_sdk_bhl.sim import make_sim
from groot_sdk_bhl.spec import SPEC

from groot_sdk.errors import BackendError, LifecycleError, ObservationError, SpecError
from groot_sdk.hardware import State
from groot_sdk.policy.observation import assemble_observation, derived_state
from groot_sdk.policy.simple import HoldPolicy

PACKAGE = Path(groot_sdk_bhl.__file__).parent
BHL_MODEL = PACKAGE / "assets/mjcf/bhl_scene.xml"
BHL_POLICY = PACKAGE / "assets/policies/policy_humanoid.onnx"
BHL_LEGS_POLICY = PACKAGE / "assets/policies/policy_humanoid_legs.onnx"
MODELS = ["generated", "published"]
STANDING = 0.5  #: m, IMU height; the published robot's IMU stands at ~0.68 m
#: rad; MuJoCo limits are soft constraints: a joint held at its limit (BHL's knees and
#: elbows default to 0 = lower limit) reads up to ~1e-4 rad beyond it
LIMIT_TOL = 2e-3


def _target(chunk) -> np.ndarray:
    return np.concatenate([chunk[f"action.{g.key}"][0] for g in SPEC.action_groups])


def test_lifecycle_read_write_generated():
    robot = make_sim(SPEC, seed=0, render=False, model="generated")
    ep = robot.episodic
    # every episode ends (issue 13): 20 s of sim time at 10 Hz by default
    assert set(robot.sensors) == {"joints", "imu"} and ep.max_steps == 200
    with robot:
        js = robot.read_joints()
        assert js.position.shape == (22,)
        assert np.allclose(js.position, SPEC.defaults, atol=1e-6)
        imu = robot.imu().read()
        assert np.allclose(imu.quaternion, [1, 0, 0, 0], atol=1e-3)
        with pytest.raises(LifecycleError):
            robot.write(np.array(SPEC.defaults))
        robot.enable()
        assert ep.time == 0.0
        target = np.array(SPEC.defaults)
        target[0] = -0.5  # left shoulder pitch
        for _ in range(125):
            robot.write(target)
        assert ep.time == pytest.approx(0.5)  # 125 writes x 4 ms: time follows the commands
        assert robot.read_joints().position[0] == pytest.approx(-0.5, abs=0.1)
        robot.hold()
        assert ep.time == pytest.approx(0.504)
        ep.reset()
        assert ep.time == 0.0
        assert np.allclose(robot.read_joints().position, SPEC.defaults, atol=1e-6)
        robot.safe_stop()
        assert robot.actuators["joints"].state is State.INACTIVE


def test_gantry_task_fixes_the_base():
    robot = make_sim(SPEC, task="gantry", render=False, model="generated")
    with robot:
        robot.enable()
        start = robot.episodic.base_position()
        for _ in range(250):
            robot.write(np.array(SPEC.lower))  # legs and arms to their limits: no fall
        assert np.allclose(robot.episodic.base_position(), start)
        assert not robot.episodic.floating and not robot.episodic.done()


def test_render_head_camera_generated():
    robot = make_sim(SPEC, seed=0, render=True, model="generated")
    cam = SPEC.camera("head")
    with robot:
        img = robot.read_cameras()["head"].image
    assert img.shape == (cam.height, cam.width, 3) and img.dtype == np.uint8
    assert img.std() > 5


def test_generated_model_stands_at_default_pose():
    """The generated model is level-footed: it stands 10 s on the floor at its default pose.

    (Under ``hold`` a floating humanoid sags: holding the *measured* pose gives the PD nothing
    to push back with, hence the hold and sinusoid runs below are on a test stand.)
    """
    robot = make_sim(SPEC, seed=0, render=False, model="generated")
    with robot:
        robot.enable()
        start = robot.episodic.imu_height()
        for _ in range(int(10 * SPEC.rates.low_level_hz)):
            robot.write(np.array(SPEC.defaults))
        assert robot.episodic.imu_height() > 0.9 * start
        assert not robot.episodic.done()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_on_stand_within_limits(model, policy):
    """10 s at 250 Hz on a test stand (base fixed): no joint ever leaves its limits."""
    robot = make_sim(SPEC, seed=0, render=False, model=model, fixed_base=True)
    lo, hi = np.array(SPEC.lower), np.array(SPEC.upper)
    # +-20% of each joint's range around its default pose (kept 5% inside the limits)
    mid = np.clip(SPEC.defaults, lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo))
    amp = 0.2 * (hi - lo)
    phase = np.linspace(0, np.pi, SPEC.dof)
    hold = HoldPolicy(SPEC)
    with robot:
        robot.enable()
        for k in range(int(10 * SPEC.rates.low_level_hz)):
            js = robot.read_joints()
            out = (js.position < lo - LIMIT_TOL) | (js.position > hi + LIMIT_TOL)
            assert not out.any(), [SPEC.joint_names[i] for i in np.flatnonzero(out)]
            if policy == "hold":
                obs = {
                    f"state.{g.key}": js.position[g.slice][None] for g in SPEC.observed_state_groups
                }
                target = _target(hold.get_action(obs))
            else:
                t = k * SPEC.rates.low_level_dt
                blend = min(1.0, t)  # ease in from the default pose over 1 s
                wave = mid + amp * np.sin(2 * np.pi * 0.5 * t + phase)
                target = (1 - blend) * np.array(SPEC.defaults) + blend * wave
            robot.write(target)
        assert robot.episodic.time == pytest.approx(10.0)
        if policy == "sinusoid":  # it really moved
            assert np.ptp(robot.read_joints().position - mid) > 0.1


def test_published_model_is_the_default_and_ships_in_the_package(caplog):
    """Without any option the packaged published robot is simulated, and the run says so."""
    caplog.set_level(logging.INFO, logger="groot_sdk.sim.models")
    robot = make_sim(SPEC, seed=0, render=False)
    info = robot.episodic.model_info
    assert info["model"] == "published" and Path(info["path"]) == BHL_MODEL
    assert Path(info["path"]).resolve().is_relative_to(PACKAGE.resolve())
    assert "CC BY-SA 4.0" in info["source"]
    assert "bhl: published model" in caplog.text and str(BHL_MODEL) in caplog.text
    with robot:
        assert robot.episodic.imu_height() == pytest.approx(0.685, abs=0.01)
    for licence in ("mjcf/LICENCE", "policies/LICENCE"):  # each licence beside its files
        assert (PACKAGE / "assets" / licence).is_file()


def test_generated_model_only_when_asked_for(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="groot_sdk.sim.models")
    robot = make_sim(SPEC, seed=0, render=False, model="generated")
    assert robot.episodic.model_info["model"] == "generated"
    assert "generated stand-in" in caplog.text
    monkeypatch.setenv(bhl_sim.MODEL_ENV, "generated")
    assert make_sim(SPEC, render=False).episodic.model_info["model"] == "generated"
    monkeypatch.delenv(bhl_sim.MODEL_ENV)
    # a package without its model is an error naming it, never a silent stand-in
    monkeypatch.setattr(bhl_sim, "PUBLISHED_MODEL", Path("/nonexistent/bhl_scene.xml"))
    with pytest.raises(SpecError, match="published model is missing"):
        make_sim(SPEC, render=False)
    with pytest.raises(SpecError, match="'/nonexistent/x.xml' does not exist"):
        make_sim(SPEC, render=False, model="/nonexistent/x.xml")
    with pytest.raises(SpecError, match="not both"):
        make_sim(SPEC, render=False, model="generated", model_path=str(BHL_MODEL))


def test_model_path_still_loads_a_file():
    robot = make_sim(SPEC, seed=0, render=False, model_path=str(BHL_MODEL))
    assert robot.episodic.model_info["model"] == "file"
    with robot:
        assert robot.episodic.imu_height() == pytest.approx(0.685, abs=0.01)
        assert np.allclose(robot.read_joints().position, SPEC.defaults, atol=1e-6)
        assert np.isfinite(robot.imu().read().accel).all()


def _walk_directly(seconds: float = 10.0):
    from groot_sdk.policy.factory import make_backend

    robot = make_sim(SPEC, seed=0, render=False)
    policy = make_backend(str(BHL_POLICY), SPEC)
    keys = [k.key for k in policy.layout.state]
    ticks = round(SPEC.rates.low_level_hz / policy.policy_hz)  # 10 ticks per 25 Hz RL step
    lowest = np.inf
    with robot:
        robot.enable()
        ep = robot.episodic
        start = ep.base_position()
        for _ in range(int(seconds * policy.policy_hz)):
            js = robot.read_joints()
            extra = derived_state(keys, js, robot.imu().read(), (0.3, 0.0, 0.0))
            obs = assemble_observation(
                SPEC, robot.read_state(js), {}, "walk", extra=extra, layout=policy.layout
            )
            target = np.clip(_target(policy.get_action(obs)), SPEC.lower, SPEC.upper)
            for _ in range(ticks):
                robot.write(target)
                lowest = min(lowest, ep.imu_height())
        return ep.base_position() - start, lowest, ep.time


def test_published_policy_walks_forward_directly():
    moved, lowest, t = _walk_directly()
    assert t == pytest.approx(10.0)
    assert lowest > STANDING, f"the robot fell (IMU down to {lowest:.2f} m)"
    assert moved[0] > 1.0, f"walked only {moved[0]:.2f} m in 10 s"


def test_published_policy_walks_forward_through_deployer():
    """`groot run -e bhl --sim -p onnx-rl --command 0.3,0,0 --seconds 10`, as the CLI builds
    it: the default model and the default policy, by name, with no path."""
    from groot_sdk.deploy.loop import DeployConfig, RealtimeDeployer
    from groot_sdk.policy.factory import make_backend

    spec = SPEC  # the plain spec, as `groot run` uses it
    robot = make_sim(spec, seed=0, render=False)
    policy = make_backend("onnx-rl", spec)
    assert Path(policy.path) == BHL_POLICY
    lowest = []
    config = DeployConfig(rate_hz=0, seconds=10.0, command=(0.3, 0.0, 0.0), status_every=0.04)
    with robot:
        start = robot.episodic.base_position()
        deployer = RealtimeDeployer(
            robot, policy, config, on_status=lambda _: lowest.append(robot.episodic.imu_height())
        )
        report = deployer.run()
        moved = robot.episodic.base_position() - start
        t = robot.episodic.time
    assert report.safety_stops == 0 and report.stop_reason == "completed", report.to_json()
    assert t == pytest.approx(10.0), f"the episode ended early at {t:.2f} s (fell)"
    assert min(lowest) > STANDING
    assert moved[0] > 1.0, f"walked only {moved[0]:.2f} m in 10 s"


def test_policy_opt_command_walks_without_run_command():
    """`groot run -e bhl --sim -p onnx-rl --policy-opt command=0.3,0,0` (no --command): the
    deployer observes a zero velocity command, which used to override the backend's own
    (the robot stood: -0.14 m in 10 s); an explicit observed command still wins."""
    from groot_sdk.deploy.loop import DeployConfig, RealtimeDeployer
    from groot_sdk.policy.factory import make_backend

    def walk(opts, command):
        robot = make_sim(SPEC, seed=0, render=False)
        policy = make_backend("onnx-rl", SPEC, opts)
        config = DeployConfig(rate_hz=0, seconds=10.0, command=command)
        with robot:
            start = robot.episodic.base_position()
            report = RealtimeDeployer(robot, policy, config).run()
            assert report.stop_reason == "completed" and robot.episodic.time == pytest.approx(10)
            return (robot.episodic.base_position() - start)[0]

    assert walk({"command": "0.3,0,0"}, None) > 1.0
    assert walk({"command": "0,0,0.5"}, (0.3, 0.0, 0.0)) > 1.0  # the run's command wins


def test_onnx_rl_backend_checks(monkeypatch):
    from groot_sdk_bhl import locomotion
    from groot_sdk_bhl.locomotion import onnx_rl

    assert Path(onnx_rl(SPEC).path) == BHL_POLICY  # the packaged default, no path needed
    assert Path(onnx_rl(SPEC, path="humanoid_legs").path) == BHL_LEGS_POLICY  # by name
    with pytest.raises(BackendError, match="does not exist"):
        onnx_rl(SPEC, path="/nonexistent/policy.onnx")
    with pytest.raises(BackendError, match="humanoid, humanoid_legs, biped_25hz_a"):
        onnx_rl(SPEC, path="humanoidd")
    monkeypatch.setattr(locomotion, "POLICY_DIR", Path("/nonexistent"))
    with pytest.raises(BackendError, match="missing from the installed package"):
        onnx_rl(SPEC)
    monkeypatch.undo()
    policy = onnx_rl(SPEC, path=str(BHL_POLICY), command="0.3,0,0")
    assert policy.layout.action_horizon == 1 and policy.policy_hz == 25.0
    keys = [k.key for k in policy.layout.state]
    assert keys[:3] == ["velocity_command", "base_gyro", "projected_gravity"]
    assert keys[-1] == "joint_velocity"
    obs = {
        "state.base_gyro": np.zeros((1, 3)),
        "state.projected_gravity": np.array([[0, 0, -1.0]]),
        "state.joint_velocity": np.zeros((1, 22)),
    }
    for g in SPEC.observed_state_groups:
        obs[f"state.{g.key}"] = np.array(SPEC.defaults)[g.slice][None]
    chunk = policy.get_action(obs)
    assert _target(chunk).shape == (22,) and np.isfinite(_target(chunk)).all()
    assert np.abs(policy.last_action).sum() > 0
    policy.reset()
    assert not policy.last_action.any()
    bad = dict(obs)
    del bad["state.projected_gravity"]
    with pytest.raises(ObservationError, match="state.projected_gravity"):
        policy.get_action(bad)
    bad = dict(obs, **{"state.joint_velocity": np.full((1, 22), np.nan)})
    with pytest.raises(ObservationError, match="joint_velocity"):
        policy.get_action(bad)


def test_legs_only_policy_holds_arms_at_default():
    from groot_sdk_bhl.locomotion import onnx_rl

    policy = onnx_rl(SPEC, path=str(BHL_LEGS_POLICY))
    assert len(policy.indices) == 12
    obs = {
        "state.base_gyro": np.zeros((1, 3)),
        "state.projected_gravity": np.array([[0, 0, -1.0]]),
        "state.joint_velocity": np.zeros((1, 22)),
    }
    for g in SPEC.observed_state_groups:
        obs[f"state.{g.key}"] = np.array(SPEC.defaults)[g.slice][None]
    target = _target(policy.get_action(obs))
    assert np.allclose(target[:10], np.array(SPEC.defaults)[:10])


def _run_deployer(make, policy_name: str, seconds: float = 10.0):
    return run_through_deployer(SPEC, make, policy_name, seconds)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_through_deployer_within_limits(model, policy):
    robot, report, positions = _run_deployer(
        lambda render: make_sim(SPEC, task="gantry", seed=0, render=render, model=model),
        policy,
    )
    assert robot.episodic.time == pytest.approx(10.0)
    assert report.stop_reason == "completed" and report.safety_stops == 0, report.to_json()
    assert len(positions) >= 10 * SPEC.rates.low_level_hz - 1
    assert_within_limits(SPEC, positions, LIMIT_TOL)
    if policy == "sinusoid":
        assert np.ptp(positions, axis=0).max() > 0.1  # it moved


def test_runs_are_deterministic():
    def run() -> np.ndarray:
        robot = make_sim(SPEC, seed=7, render=False, model="generated")
        with robot:
            robot.enable()
            for k in range(250):
                robot.write(np.array(SPEC.defaults) + 0.2 * np.sin(0.05 * k + np.arange(22)))
            return np.concatenate([robot.read_joints().position, robot.episodic.base_position()])

    assert np.array_equal(run(), run())
