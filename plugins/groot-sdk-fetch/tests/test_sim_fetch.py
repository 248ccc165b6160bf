"""The Fetch simulator (gymnasium-robotics) and the scripted baseline, without the deployer."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from groot_sdk.sim import configure_gl
from groot_sdk.testing import run_through_deployer

configure_gl()  # before anything imports mujoco: offscreen rendering needs MUJOCO_GL set first
pytest.importorskip("gymnasium_robotics", reason="needs the sim extra (gymnasium-robotics)")

from groot_sdk_fetch.scripted import scripted
from groot_sdk_fetch.sim import _gym, make_sim
from groot_sdk_fetch.spec import SPEC

from groot_sdk.errors import LifecycleError, SpecError
from groot_sdk.hardware import State
from groot_sdk.plugins import get_registry
from groot_sdk.policy.simple import HoldPolicy


def _obs(robot):
    state = robot.read_state()
    return {f"state.{g.key}": state[g.slice][None] for g in SPEC.state_groups}


def _command(chunk, step=0):
    return np.concatenate([chunk[f"action.{g.key}"][step] for g in SPEC.action_groups])


TOL = 5e-3
ARM = ("shoulder", "upperarm", "elbow", "forearm", "wrist", "finger")


def _arm_joints_within_limits(robot) -> None:
    """Every limited arm and finger joint of the Fetch model is inside its range.

    (The torso lift is not driven and starts at 0, below its own range, in gymnasium's model.)
    MuJoCo limits are soft constraints: the fingers, pushed open by gymnasium's kp=30000 servo
    (target up to 0.2 m against a 0.05 m limit), sink up to ~5 mm into theirs; arm joints get
    a 5 mrad tolerance, fingers 1 cm.
    """
    env = robot.episodic.env.unwrapped
    m, d = env.model, env.data
    for j in range(m.njnt):
        if m.jnt_limited[j] and any(a in m.joint(j).name for a in ARM):
            q = d.qpos[m.jnt_qposadr[j]]
            lo, hi = m.jnt_range[j]
            tol = 2 * TOL if "finger" in m.joint(j).name else TOL
            assert lo - tol <= q <= hi + tol, (m.joint(j).name, q, lo, hi)


def test_lifecycle_read_write_reset():
    robot = make_sim(SPEC, task="reach", seed=3, render=False)
    assert robot.spec is SPEC and "front" not in robot.sensors
    with robot:
        state = robot.read_state()
        assert state.shape == (16,) and np.isfinite(state).all()
        with pytest.raises(LifecycleError):
            robot.write(np.zeros(4))
        robot.enable()
        ep = robot.episodic
        assert ep.max_steps == 50 and not ep.done() and ep.success() in (False, True)
        robot.write(np.array([1.0, 0, 0, 0]))
        after = robot.read_state()
        assert after[0] > state[0] + 0.005  # the gripper moved along +x
        assert np.allclose(robot.read_joints().position, [1, 0, 0, 0])
        assert after[3 + 2 + 3] == pytest.approx(0.0, abs=1.0)  # finger velocity, m/s
        goal = after[13:16]
        ep.reset(seed=3)
        assert np.allclose(robot.read_state()[13:16], goal)  # same seed, same goal
        ep.reset(seed=4)
        assert not np.allclose(robot.read_state()[13:16], goal)
        robot.safe_stop()
        assert robot.actuators["arm"].state is State.INACTIVE
    assert robot.actuators["arm"].state is State.FINALIZED


def test_unknown_task_and_option_rejected():
    with pytest.raises(SpecError, match="stack"):
        make_sim(SPEC, task="stack", render=False)
    with pytest.raises(SpecError, match="bogus"):
        make_sim(SPEC, task="reach", render=False, bogus=1)


def test_registered_sim_and_backend():
    reg = get_registry()
    assert "scripted" in reg.backends()
    robot = reg.embodiment("fetch").make_sim(task="push", seed=0, render=False)
    with robot:
        assert robot.read_state()[10:13].tolist() != robot.read_state()[0:3].tolist()


def test_render_front_camera():
    robot = make_sim(SPEC, task="push", seed=0, render=True)
    cam = SPEC.camera("front")
    with robot:
        frames = robot.read_cameras()
        img = frames["front"].image
        assert img.shape == (cam.height, cam.width, 3) and img.dtype == np.uint8
        assert img.std() > 5  # a scene, not a blank buffer
        other = {}
        thread = threading.Thread(target=lambda: other.update(robot.read_cameras()))
        thread.start()
        thread.join()
        assert np.array_equal(other["front"].image, img)  # same frame from another thread
    env = _gym().make("FetchPush-v4", render_mode="rgb_array", width=cam.width, height=cam.height)
    env.reset(seed=0)
    try:
        assert np.abs(env.render().astype(int) - img).mean() < 1.0  # gymnasium's own view
    finally:
        env.close()


@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_closed_loop_within_limits(policy):
    robot = make_sim(SPEC, task="pick_and_place", seed=1, render=False)
    hold = HoldPolicy(SPEC)
    steps = int(10.0 * SPEC.rates.low_level_hz)
    with robot:
        robot.enable()
        for k in range(steps):
            if robot.episodic.done():
                robot.episodic.reset()
            if policy == "hold":
                cmd = _command(hold.get_action(_obs(robot)))
            else:
                t = k / SPEC.rates.low_level_hz
                cmd = 0.8 * np.sin(2 * np.pi * 0.5 * t + np.arange(4))
            assert (cmd >= SPEC.lower).all() and (cmd <= SPEC.upper).all()
            robot.write(cmd)
            _arm_joints_within_limits(robot)
        assert robot.episodic.time <= 10.0
        assert np.isfinite(robot.read_state()).all()


def _run_scripted(task: str, episodes: int) -> float:
    robot = make_sim(SPEC, task=task, seed=0, render=False)
    policy = scripted(SPEC)
    successes = 0
    with robot:
        robot.enable()
        for e in range(episodes):
            robot.episodic.reset(seed=1000 + e)
            policy.reset()
            while not robot.episodic.done():
                robot.write(_command(policy.get_action(_obs(robot))))
            successes += bool(robot.episodic.success())
    return successes / episodes


def test_scripted_reach_succeeds():
    assert _run_scripted("reach", 50) >= 0.95


def test_scripted_push_works():
    assert _run_scripted("push", 20) >= 0.8


def test_scripted_pick_and_place_works():
    assert _run_scripted("pick_and_place", 20) >= 0.8


def test_scripted_rejects_missing_state():
    policy = scripted(SPEC)
    with pytest.raises(Exception, match="state.goal_position"):
        policy.get_action(
            {
                "state.eef_position": np.zeros((1, 3)),
                "state.gripper_qpos": np.zeros((1, 2)),
                "state.object_position": np.zeros((1, 3)),
            }
        )


def _run_deployer(make, policy_name: str, seconds: float = 10.0):
    return run_through_deployer(SPEC, make, policy_name, seconds, sample=_arm_qpos)


def _arm_qpos(robot) -> np.ndarray:
    _arm_joints_within_limits(robot)
    env = robot.episodic.env.unwrapped
    return env.data.qpos.copy()


@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_through_deployer_within_limits(policy):
    robot, report, qpos = _run_deployer(
        lambda render: make_sim(SPEC, task="pick_and_place", seed=0, render=render), policy
    )
    assert robot.episodic.time == pytest.approx(10.0) or robot.episodic.episodes > 1
    assert report.stop_reason == "completed" and report.safety_stops == 0, report.to_json()
    assert len(qpos) >= 10 * SPEC.rates.low_level_hz - 1
