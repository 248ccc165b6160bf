"""G1 + Inspire in MuJoCo: the published 29-DOF model shipped in this package (the default;
hands as virtual mimic state) and the generated 53-joint stand-in (only when asked for).
Nothing here reads ../shared/assets: the model is package data."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from groot_sdk.sim import configure_gl
from groot_sdk.testing import assert_within_limits, run_through_deployer

configure_gl()  # before anything imports mujoco: offscreen rendering needs MUJOCO_GL set first
pytest.importorskip("mujoco", reason="needs the sim extra (mujoco)")

import groot_sdk_g1_inspire
from groot_sdk_g1_inspire import sim as g1_sim
from groot_sdk_g1_inspire.sim import make_sim
from groot_sdk_g1_inspire.spec import SPEC

from groot_sdk.errors import LifecycleError, SpecError
from groot_sdk.hardware import State
from groot_sdk.policy.simple import HoldPolicy

PACKAGE = Path(groot_sdk_g1_inspire.__file__).parent
G1_MODEL = PACKAGE / "assets/g1/scene_29dof.xml"
MODELS = ["generated", "published"]
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


@pytest.mark.parametrize("model", MODELS)
def test_lifecycle_53_joints_and_mimic(model):
    robot = make_sim(SPEC, seed=0, render=False, model=model, fixed_base=True)
    joints = robot.actuators["joints"]
    assert len(joints._real) == (53 if model == "generated" else 29)
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


def test_published_model_is_the_default_and_ships_in_the_package(monkeypatch, caplog):
    """Without any option the packaged published robot is simulated, and the run says so;
    the stand-in only when asked for; a package without its model is an error, not a
    silent stand-in."""
    caplog.set_level(logging.INFO, logger="groot_sdk.sim.models")
    robot = make_sim(SPEC, seed=0, render=False)
    info = robot.episodic.model_info
    assert info["model"] == "published" and Path(info["path"]) == G1_MODEL
    assert "BSD-3-Clause" in info["source"] and (G1_MODEL.parent / "LICENSE").is_file()
    assert "g1_inspire: published model" in caplog.text
    assert len(robot.actuators["joints"]._real) == 29
    monkeypatch.setenv(g1_sim.MODEL_ENV, "generated")
    assert make_sim(SPEC, render=False).episodic.model_info["model"] == "generated"
    assert "generated stand-in" in caplog.text
    monkeypatch.delenv(g1_sim.MODEL_ENV)
    monkeypatch.setattr(g1_sim, "PUBLISHED_MODEL", Path("/nonexistent/scene_29dof.xml"))
    with pytest.raises(SpecError, match="published model is missing"):
        make_sim(SPEC, render=False)
    with pytest.raises(SpecError, match="'/nonexistent/x.xml' does not exist"):
        make_sim(SPEC, render=False, model_path="/nonexistent/x.xml")


def test_unknown_option_rejected_and_gantry_task():
    with pytest.raises(SpecError, match="bogus"):
        make_sim(SPEC, render=False, bogus=True)
    robot = make_sim(SPEC, task="gantry", render=False, model="generated")
    assert not robot.episodic.floating and robot.episodic.imu_height() > 1.0


@pytest.mark.parametrize("model", MODELS)
def test_render_head_camera(model):
    robot = make_sim(SPEC, seed=0, render=True, model=model)
    cam = SPEC.camera("cam_left_high")
    with robot:
        img = robot.read_cameras()["cam_left_high"].image
    assert img.shape == (cam.height, cam.width, 3) and img.dtype == np.uint8
    assert img.std() > 5


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_on_stand_within_limits(model, policy):
    """10 s at 250 Hz on a test stand (a G1 on PD servos alone topples: its ankles are
    softer than gravity's pull), no joint ever outside its limits."""
    robot = make_sim(SPEC, seed=0, render=False, model=model, fixed_base=True)
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


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("policy", ["hold", "sinusoid"])
def test_ten_seconds_through_deployer_within_limits(model, policy):
    """``hold`` (the episode's first pose) and ``sinusoid`` through the deployer. The
    sinusoid runs at amplitude 0.15: at its default 0.3 the published model's arms strike
    the torso and a hip strikes the pelvis, pushing joints ~50 mrad past their limits (real
    self-collisions)."""
    options = {"amplitude": 0.15} if policy == "sinusoid" else {}
    robot, report, positions = _run_deployer(
        lambda render: make_sim(SPEC, task="gantry", seed=0, render=render, model=model),
        policy,
        **options,
    )
    assert robot.episodic.time == pytest.approx(10.0)
    assert report.stop_reason == "completed" and report.safety_stops == 0, report.to_json()
    assert len(positions) >= 10 * SPEC.rates.low_level_hz - 1
    assert_within_limits(SPEC, positions, LIMIT_TOL)
    if policy == "sinusoid":
        assert np.ptp(positions, axis=0).max() > 0.1  # it moved
