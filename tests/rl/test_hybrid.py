"""Hybrid control on BHL in MuJoCo: RL legs (published ONNX policy), backend arms, hand-overs."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mujoco", reason="needs the sim extra (mujoco)")
pytest.importorskip("onnxruntime", reason="needs the onnx extra (onnxruntime)")
groot_sdk_bhl = pytest.importorskip("groot_sdk_bhl", reason="needs the groot-sdk-bhl plugin")

from groot_sdk_bhl.hybrid import HybridController, Mode, parse_command
from groot_sdk_bhl.locomotion import policy_file

#: the published robot and legs policy ship as package data of groot-sdk-bhl
LEGS = Path(policy_file("humanoid_legs"))
STANDING = 0.5  #: m, IMU height; BHL's IMU stands at ~0.64-0.68 m


@pytest.mark.parametrize(
    ("text", "mode", "velocity"),
    [
        ("walk forward", Mode.LOCOMOTION, (0.3, 0, 0)),
        ("Walk backwards slowly", Mode.LOCOMOTION, (-0.3, 0, 0)),
        ("turn right", Mode.LOCOMOTION, (0, 0, -0.5)),
        ("wave your arms", Mode.MANIPULATION, (0, 0, 0)),
        ("pick up the cup", Mode.MANIPULATION, (0, 0, 0)),
        ("walk forward while waving your arms", Mode.BOTH, (0.3, 0, 0)),
        ("stop", Mode.STAND, (0, 0, 0)),
    ],
)
def test_parse_command(text, mode, velocity):
    got_mode, got_vel = parse_command(text)
    assert got_mode is mode
    assert np.allclose(got_vel, velocity)


def test_parse_command_without_mode():
    assert parse_command("the sky is blue") is None


def _targets(chunk, spec):
    return np.concatenate([chunk[f"action.{g.key}"][0] for g in spec.action_groups])


def _run(script, seconds, handover=0.5, async_arms=False, amplitude=1.0):
    from groot_sdk_bhl.locomotion import onnx_rl
    from groot_sdk_bhl.sim import make_sim
    from groot_sdk_bhl.spec import SPEC

    from groot_sdk.deploy.loop import DeployConfig, RealtimeDeployer
    from groot_sdk.policy.baselines import sinusoid

    spec = SPEC  # the deployer bounds one-step policies per policy step itself
    robot = make_sim(spec, seed=0, render=False)  # the packaged published model
    legs = onnx_rl(spec, path=str(LEGS))
    arms = sinusoid(SPEC, amplitude=amplitude, frequency=0.5)
    hybrid = HybridController(SPEC, legs, arms, handover=handover, async_arms=async_arms)
    trace = []  # (time, mode, targets) per RL step
    ask = hybrid.get_action

    def recording(obs):
        chunk = ask(obs)
        trace.append((hybrid.time - hybrid.rl_dt, hybrid.mode, _targets(chunk, SPEC)))
        return chunk

    hybrid.get_action = recording
    pending = list(script[1:])
    samples = []  # (t, base position, IMU height) per control tick

    def on_tick(status):
        while pending and status["t"] >= pending[0][0] - 1e-9:
            hybrid.command(pending.pop(0)[1])  # an operator's (or a planner's) command
        ep = robot.episodic
        samples.append((status["t"], ep.base_position(), ep.imu_height()))

    config = DeployConfig(rate_hz=0, seconds=seconds, task=script[0][1], status_every=0.0)
    with robot:
        report = RealtimeDeployer(robot, hybrid, config, on_status=on_tick).run()
    hybrid.close()
    return SPEC, hybrid, report, trace, samples


def test_hybrid_walks_waves_and_hands_over_smoothly():
    script = [
        (0.0, "walk forward"),  # the task text: the first mode comes from language
        (3.0, "wave your arms"),
        (6.0, "walk forward while waving your arms"),
    ]
    spec, hybrid, report, trace, samples = _run(script, seconds=9.0)
    assert report.safety_stops == 0 and report.stop_reason == "completed", report.to_json()

    # two switches, at the commanded times
    switches = [e for e in hybrid.events if "->" in e[1]]
    assert [s[1] for s in switches] == [
        "stand -> locomotion",
        "locomotion -> manipulation",
        "manipulation -> both",
    ]
    assert switches[1][0] == pytest.approx(3.0, abs=0.05)
    assert switches[2][0] == pytest.approx(6.0, abs=0.05)

    # stays up the whole time
    t = np.array([s[0] for s in samples])
    x = np.array([s[1][0] for s in samples])
    height = np.array([s[2] for s in samples])
    assert t[-1] == pytest.approx(9.0, abs=0.01)
    assert height.min() > STANDING, f"fell: IMU down to {height.min():.2f} m"

    def moved(a, b):
        i, j = np.searchsorted(t, [a, b]).clip(0, len(t) - 1)
        return x[j] - x[i]

    assert moved(0.0, 3.0) > 0.25, "did not walk under the RL policy"
    assert abs(moved(3.6, 6.0)) < 0.05, "drifted while standing for manipulation"
    assert moved(6.0, 9.0) > 0.25, "did not walk again (while the arms moved)"

    steps = np.array([s[0] for s in trace])
    targets = np.stack([s[2] for s in trace])
    arms = hybrid.arm_index
    manip = (steps > 3.6) & (steps < 6.0)
    assert np.ptp(targets[manip][:, arms], axis=0).max() > 0.5, "the arm backend did not move"
    loco = steps < 3.0
    assert np.allclose(targets[loco][:, arms], np.array(spec.defaults)[arms], atol=1e-6)
    assert hybrid.arm_queries >= 50  # ~10 Hz while the arms were the backend's (6 s)

    # no hand-over jump beyond the velocity limit: |target step| <= velocity_limit / rl_hz
    limit = np.array([j.velocity_limit for j in spec.joints]) / hybrid.policy_hz
    ratio = np.abs(np.diff(targets, axis=0))[:, arms] / limit[arms]
    assert ratio.max() <= 1.0 + 1e-5, f"arm target jumped {ratio.max():.2f}x the limit"
    # ... while switching instantly would have: the backend's arms were that far from RL's
    assert hybrid.handover_gap > limit[arms].max()


def test_hybrid_async_arms_keep_the_legs_running():
    script = [(0.0, "wave your arms")]
    _, hybrid, report, trace, samples = _run(script, seconds=2.0, async_arms=True)
    assert report.stop_reason == "completed" and report.safety_stops == 0
    assert min(s[2] for s in samples) > STANDING
    assert len(trace) == 50  # every 25 Hz RL step was answered
    assert hybrid.arm_queries >= 5
