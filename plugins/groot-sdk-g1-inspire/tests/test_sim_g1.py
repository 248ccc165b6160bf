"""G1 + Inspire in MuJoCo: the generated 53-joint model always, the published 29-DOF model
(hands as virtual mimic state) when ../shared/assets has it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from groot_sdk.sim import configure_gl
from groot_sdk.testing import assert_within_limits, run_through_deployer

configure_gl()  # before anything imports mujoco: offscreen rendering needs MUJOCO_GL set first
pytest.importorskip("mujoco", reason="needs the sim extra (mujoco)")

from groot_sdk_g1_inspire.sim import make_sim
from groot_sdk_g1_inspire.spec import SPEC

from groot_sdk.errors import LifecycleError, SpecError
from groot_sdk.hardware import State
from groot_sdk.policy.simple import HoldPolicy

ASSETS = Path(os.environ.get("GROOT_ASSETS", Path(__file__).parents[3] / "../shared/assets"))
G1_MODEL = ASSETS / "g1/unitree_robots/g1/scene_29dof.xml"
needs_model = pytest.mark.skipif(
    not G1_MODEL.is_file(), reason=f"published G1 model not found at {G1_MODEL}"
)
MODELS = [None, pytest.param(str(G1_MODEL), marks=needs_model, id="published")]
#: rad; MuJoCo joint limits are soft constraints: in the published model the legs touch each
#: other during the sinusoid and push a hip up to ~4 mrad into its limit
LIMIT_TOL = 5e-3
MIMICS = [
    (i, SPEC.joint_names.index(j.mimic.source), j.mimic.multiplier)
    for i, j in enumerate(SPEC.joints)
    if j.mimic is not None
]


def _hand_command(value: float) -> np.ndarray:
    """Default body pose, every driven hand joint at ``value`` of its range."""
    q = np.array(SPEC.defaults)
    for i, j in enumerate(SPEC.joints):
        if i >= 29 and j.mimic is None:
            q[i] = j.lower + value * (j.upper - j.lower)
    return q


@pytest.mark.parametrize("model_path", MODELS)
def test_lifecycle_53_joints_and_mimic(model_path):
    robot = make_sim(SPEC, seed=0, render=False, model_path=model_path, fixed_base=True)
    joints = robot.actuators["joints"]
    assert len(joints._real) == (53 if model_path is None else 29)
    with robot:
        js = robot.read_joints()
        assert js.position.shape == (53,) and np.allclose(js.position, SPEC.defaults, atol=1e-6)
        assert np.allclose(robot.imu().read().quaternion, [1, 0, 0, 0], atol=1e-3)
        with pytest.raises(LifecycleError):
            robot.write(np.array(SPEC.defaults))
        robot.enable()
        command = _hand_command(0.6)
        command[[i for i, _, _ in MIMICS]] = 0.0  # followers ignore their own command
        for _ in range(250):
            robot.write(command)
        assert robot.episodic.time == pytest.approx(1.0)
        q = robot.read_joints().position
        for follower, source, k in MIMICS:
            assert q[follower] == pytest.approx(k * q[source], abs=0.05), SPEC.joint_names[follower]
        driven = [i for i, j in enumerate(SPEC.joints) if i >= 29 and j.mimic is None]
        assert np.allclose(q[driven], command[driven], atol=0.05)
        robot.safe_stop()
        assert joints.state is State.INACTIVE


def test_unknown_option_rejected_and_gantry_task():
    with pytest.raises(SpecError, match="bogus"):
        make_sim(SPEC, render=False, bogus=True)
    robot = make_sim(SPEC, task="gantry", render=False)
    assert not robot.episodic.floating and robot.episodic.imu_height() > 1.0


def test_render_head_camera():
    robot = make_sim(SPEC, seed=0, render=True)
    cam = SPEC.camera("cam_left_high")
    with robot:
        img = robot.read_cameras()["cam_left_high"].image
    assert img.shape == (cam.height, cam.width, 3) and img.dtype == np.uint8
    assert img.std() > 5


@pytest.mark.parametrize("model_path", MODELS)
@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_on_stand_within_limits(model_path, policy):
    """10 s at 250 Hz on a test stand (a G1 on PD servos alone topples: its ankles are
    softer than gravity's pull), no joint ever outside its limits."""
    robot = make_sim(SPEC, seed=0, render=False, model_path=model_path, fixed_base=True)
    lo, hi = np.array(SPEC.lower), np.array(SPEC.upper)
    mid = np.clip(SPEC.defaults, lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo))
    amp = 0.2 * (hi - lo)
    phase = np.linspace(0, np.pi, SPEC.dof)
    hold = HoldPolicy(SPEC)
    with robot:
        robot.enable()
        # ``hold`` holds the pose it observes at the start. (Re-observing every tick would let
        # the torso fold: each new target accepts the last sag, and the waist ends on its
        # stop, ~20 mrad past the limit on impact.)
        js = robot.read_joints()
        obs = {f"state.{g.key}": js.position[g.slice][None] for g in SPEC.observed_state_groups}
        chunk = hold.get_action(obs)
        held = np.concatenate([chunk[f"action.{g.key}"][0] for g in SPEC.action_groups])
        for k in range(int(10 * SPEC.rates.low_level_hz)):
            js = robot.read_joints()
            out = (js.position < lo - LIMIT_TOL) | (js.position > hi + LIMIT_TOL)
            assert not out.any(), [SPEC.joint_names[i] for i in np.flatnonzero(out)]
            if policy == "hold":
                target = held
            else:
                t = k * SPEC.rates.low_level_dt
                blend = min(1.0, t)
                wave = mid + amp * np.sin(2 * np.pi * 0.5 * t + phase)
                target = (1 - blend) * np.array(SPEC.defaults) + blend * wave
            robot.write(target)
        assert robot.episodic.time == pytest.approx(10.0)


def _run_deployer(make, policy_name: str, seconds: float = 10.0, **options):
    return run_through_deployer(SPEC, make, policy_name, seconds, **options)


@pytest.mark.parametrize("model_path", MODELS)
@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_through_deployer_within_limits(model_path, policy):
    """``hold`` (the episode's first pose) and ``sinusoid`` through the deployer. The
    sinusoid runs at amplitude 0.15: at its default 0.3 the published model's arms strike
    the torso and a hip strikes the pelvis, pushing joints ~50 mrad past their limits (real
    self-collisions)."""
    options = {"amplitude": 0.15} if policy == "sinusoid" else {}
    robot, report, positions = _run_deployer(
        lambda render: make_sim(SPEC, task="gantry", seed=0, render=render, model_path=model_path),
        policy,
        **options,
    )
    assert robot.episodic.time == pytest.approx(10.0)
    assert report.stop_reason == "completed" and report.safety_stops == 0, report.to_json()
    assert len(positions) >= 10 * SPEC.rates.low_level_hz - 1
    assert_within_limits(SPEC, positions, LIMIT_TOL)
    if policy == "sinusoid":
        assert np.ptp(positions, axis=0).max() > 0.1  # it moved
