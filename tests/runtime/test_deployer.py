"""The deployer's safety behaviour on mock hardware, in real time (a few seconds in all)."""

import os
import signal
import threading

import numpy as np
import pytest

from groot_sdk.deploy import DeployConfig, RealtimeDeployer, run_policy
from groot_sdk.embodiment import Embodiment, mock_embodiment
from groot_sdk.errors import HardwareError
from groot_sdk.hardware import MirrorJoints, State
from groot_sdk.modality import ModalityLayout
from groot_sdk.policy.baselines import SinusoidPolicy
from groot_sdk.policy.simple import HoldPolicy


class StuckPolicy(HoldPolicy):
    """Answers ``answers`` requests, then never again (until the test releases it)."""

    def __init__(self, spec, answers):
        super().__init__(spec)
        self.answers = answers
        self.calls = 0
        self.release = threading.Event()

    def get_action(self, observation):
        self.calls += 1
        if self.calls > self.answers:
            self.release.wait(30)
        return super().get_action(observation)


class NaNPolicy(SinusoidPolicy):
    def __init__(self, spec, bad_calls):
        super().__init__(spec, amplitude=0.2)
        self.bad_calls = set(bad_calls)
        self.calls = 0

    def get_action(self, observation):
        self.calls += 1
        chunk = super().get_action(observation)
        if self.calls in self.bad_calls:
            chunk["action.single_arm"][3, 2] = np.nan
        return chunk


class ListRecorder:
    def __init__(self):
        self.calls = []

    def start_episode(self, task):
        self.calls.append(("start", task))

    def add_step(self, frames, state, action, timestamp):
        self.calls.append(
            ("step", {k: v.shape for k, v in frames.items()}, state, action, timestamp)
        )

    def end_episode(self, success=None):
        self.calls.append(("end", success))

    def close(self):
        pass


def joints_of(robot):
    return robot.actuators["joints"]


def test_hold_policy_runs_in_real_time(so101_spec):
    robot = mock_embodiment(so101_spec)
    recorder = ListRecorder()
    report = run_policy(robot, HoldPolicy(so101_spec), recorder=recorder, seconds=0.5, task="hold")
    assert report.stop_reason == "completed" and report.safety_stops == 0
    assert report.steps == 30 and report.holds == 0
    assert report.loop_hz > 0  # timing itself is measured in benchmarks, not asserted
    assert joints_of(robot).safe  # disabled at the end
    cmds = np.array(joints_of(robot).commands)
    assert np.allclose(cmds, so101_spec.defaults)
    steps = [c for c in recorder.calls if c[0] == "step"]
    assert recorder.calls[0] == ("start", "hold") and recorder.calls[-1] == ("end", None)
    assert len(steps) == 15  # policy steps at 30 Hz
    assert steps[0][1] == {"front": (224, 224, 3), "wrist": (224, 224, 3)}
    assert steps[1][4] == pytest.approx(2 / 60)


def test_policy_that_stops_answering_holds_within_a_tick_then_stops(so101_spec):
    robot = mock_embodiment(so101_spec)
    policy = StuckPolicy(so101_spec, answers=2)
    timeout = 0.25
    dep = RealtimeDeployer(
        robot, policy, DeployConfig(seconds=5.0, timeout=timeout, replan_every=4)
    )
    try:
        report = dep.run()
    finally:
        policy.release.set()
    dt = so101_spec.rates.low_level_dt
    stuck_at = dep.request_times[2]  # the third request never gets an answer
    holds = [t for t, what in dep.events if what.startswith("hold")]
    stops = [t for t, what in dep.events if what.startswith("safe stop")]
    assert report.holds == 1 and report.safety_stops == 1
    assert "watchdog" in report.stop_reason
    # the plan of the last answer runs out, or the request times out: hold within one tick
    deadline = min(stuck_at + timeout, dep.request_times[1] + 16 * so101_spec.rates.policy_dt)
    assert deadline <= holds[0] <= deadline + dt + 1e-9
    assert stops[0] - holds[0] <= timeout + dt + 1e-9
    writes_before_hold = round(holds[0] / dt)
    assert len(joints_of(robot).commands) == writes_before_hold  # no command after the hold
    assert joints_of(robot).safe


def test_nan_chunk_is_rejected_and_the_robot_holds(so101_spec):
    robot = mock_embodiment(so101_spec)
    policy = NaNPolicy(so101_spec, bad_calls=set(range(2, 12)))
    dep = RealtimeDeployer(robot, policy, DeployConfig(seconds=1.5, timeout=1.0, replan_every=8))
    report = dep.run()
    cmds = np.array(joints_of(robot).commands)
    assert np.isfinite(cmds).all()
    assert report.extra["rejected_chunks"] == 10
    assert any("non-finite value nan at step 3" in what for _, what in dep.events)
    assert report.holds >= 1 and report.safety_stops == 0  # held, then resumed
    assert any(what == "resume" for _, what in dep.events)
    assert report.stop_reason == "completed"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_safely(so101_spec, sig):
    robot = mock_embodiment(so101_spec)
    before = signal.getsignal(sig)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), sig))
    timer.start()
    report = run_policy(robot, SinusoidPolicy(so101_spec), seconds=10.0)
    timer.join()
    assert report.stop_reason == f"interrupted ({sig.name})"
    assert signal.getsignal(sig) is before  # the handler is restored
    assert report.steps < 60
    assert joints_of(robot).safe


def test_device_fault_is_a_safe_stop(so101_spec):
    class Flaky(MirrorJoints):
        def _write(self, command):
            if len(self.commands) >= 10:
                raise HardwareError("servo 3 did not answer")
            super()._write(command)

    joints = Flaky("joints", so101_spec.joint_names, so101_spec.defaults)
    robot = Embodiment(so101_spec, {"joints": joints}, {"joints": joints})
    policy = SinusoidPolicy(so101_spec)
    report = run_policy(robot, policy, seconds=2.0, rate_hz=0)
    assert report.safety_stops == 1
    assert "servo 3 did not answer" in report.stop_reason
    assert joints.safe and report.steps == 10


def test_commands_respect_limits_and_velocity(so101_spec):
    robot = mock_embodiment(so101_spec)
    policy = SinusoidPolicy(so101_spec, amplitude=1.0, frequency=3.0)
    report = run_policy(robot, policy, seconds=3.0, rate_hz=0)
    cmds = np.array(joints_of(robot).commands)
    assert report.steps == 180
    assert (cmds >= np.array(so101_spec.lower) - 1e-6).all()
    assert (cmds <= np.array(so101_spec.upper) + 1e-6).all()
    max_step = 4.0 / 60
    assert np.abs(np.diff(cmds, axis=0)).max() <= max_step + 1e-5
    assert report.extra["limited_setpoints"] > 0  # 3 Hz at full amplitude is too fast


def test_telemetry_and_plot(tmp_path, so101_spec):
    pytest.importorskip("matplotlib")
    import json

    robot = mock_embodiment(so101_spec)
    tel, png = tmp_path / "t.jsonl", tmp_path / "timing.png"
    report = run_policy(
        robot, HoldPolicy(so101_spec), seconds=0.3, telemetry=str(tel), plot=str(png)
    )
    rows = [json.loads(line) for line in tel.read_text().splitlines()]
    assert len(rows) == report.steps == 18
    assert rows[1]["t"] == pytest.approx(1 / 60, abs=1e-6) and rows[1]["mode"] == "run"
    assert len(rows[1]["command"]) == 6 and rows[2]["period_ms"] > 0
    assert png.stat().st_size > 10_000


def test_recorded_action_is_the_command_sent_after_the_observation(so101_spec):
    robot = mock_embodiment(so101_spec)
    recorder = ListRecorder()
    run_policy(robot, SinusoidPolicy(so101_spec), recorder=recorder, seconds=0.5, rate_hz=0)
    sent = joints_of(robot).commands
    steps = [c for c in recorder.calls if c[0] == "step"]
    assert len(steps) == 15
    for _, _, state, action, stamp in steps:
        tick = round(stamp * so101_spec.rates.low_level_hz)
        assert np.array_equal(action, sent[tick])  # (observation_t, action_t) pairs
        assert state.shape == (6,)


def test_realtime_priority_is_applied_or_reported_and_restored(so101_spec):
    if not hasattr(os, "sched_getscheduler"):
        pytest.skip("no POSIX scheduling API on this platform")
    before = os.sched_getscheduler(0)
    report = run_policy(
        mock_embodiment(so101_spec), HoldPolicy(so101_spec), seconds=0.2, rt_priority=10
    )
    assert report.stop_reason == "completed"
    assert report.extra["rt_priority"] in (10, None)  # None: not permitted here, warned
    assert os.sched_getscheduler(0) == before


def test_10hz_chunks_become_250hz_linear_setpoints():
    import attrs

    from groot_sdk.plugins import get_registry

    spec = get_registry().embodiment("bhl").spec  # policy 10 Hz, low level 250 Hz

    class Ramp(HoldPolicy):
        def __init__(self, spec):
            super().__init__(spec)
            self._layout = attrs.evolve(self._layout, video=())
            self.calls = 0

        def get_action(self, observation):
            chunk = super().get_action(observation)
            start = self.calls * 8  # replanned every 8 steps
            self.calls += 1
            ramp = 0.02 * (start + np.arange(16, dtype=np.float32))  # 0.2 rad/s on joint 0
            chunk["action.left_arm"][:, 0] = -ramp
            return chunk

    robot = mock_embodiment(spec)
    report = run_policy(robot, Ramp(spec), seconds=2.0, rate_hz=0, replan_every=8)
    cmds = np.array(joints_of(robot).commands)[:, 0]
    assert report.steps == 500 and report.holds == 0
    t = np.arange(500) / 250.0
    assert np.allclose(cmds, -0.2 * t, atol=1e-5)  # linear between the 10 Hz steps


def test_bad_camera_frame_is_a_safe_stop_naming_the_key(so101_spec):
    from groot_sdk.hardware import Frame, SyntheticCamera

    class GreyCamera(SyntheticCamera):
        def _read(self):
            return Frame(np.zeros((480, 640), np.uint8))  # no colour channels

    class LookingHold(HoldPolicy):  # a policy whose layout has the cameras
        @property
        def layout(self):
            return ModalityLayout.from_spec(so101_spec)

    robot = mock_embodiment(so101_spec)
    robot.sensors["wrist"] = GreyCamera("wrist", 640, 480)
    report = run_policy(robot, LookingHold(so101_spec), seconds=1.0)
    assert report.safety_stops == 1
    assert "camera 'wrist'" in report.stop_reason and "uint8 (H, W, 3)" in report.stop_reason
    assert joints_of(robot).safe


def test_async_inference_keeps_ticking_while_a_slow_policy_thinks(so101_spec):
    import time

    class Slow(SinusoidPolicy):
        def get_action(self, observation):
            time.sleep(0.1)  # three policy periods at 30 Hz
            return super().get_action(observation)

    robot = mock_embodiment(so101_spec)
    dep = RealtimeDeployer(robot, Slow(so101_spec, amplitude=0.2), DeployConfig(seconds=1.5))
    report = dep.run()
    assert not report.extra["sync_inference"]
    assert report.holds == 0 and report.safety_stops == 0
    assert report.extra["dropped_steps"] > 0  # steps of each chunk already in the past
    assert report.extra["inference_ms_p50"] >= 100
    cmds = np.array(joints_of(robot).commands)
    assert len(cmds) == report.steps == 90  # a command every tick, none skipped for inference


def test_policy_failing_at_episode_start_is_a_reported_safe_stop(so101_spec):
    class ResetFails(HoldPolicy):
        def reset(self, options=None):
            raise ConnectionError("policy server went away")

    robot = mock_embodiment(so101_spec)
    report = run_policy(robot, ResetFails(so101_spec), seconds=0.5, rate_hz=0)
    assert report.safety_stops == 1
    assert "policy server went away" in report.stop_reason
    assert joints_of(robot).safe


def test_an_interrupted_episode_is_not_ended_for_the_recorder(so101_spec):
    class Flaky(MirrorJoints):
        def _write(self, command):
            if len(self.commands) >= 5:
                raise HardwareError("servo 2 overload")
            super()._write(command)

    joints = Flaky("joints", so101_spec.joint_names, so101_spec.defaults)
    robot = Embodiment(so101_spec, {"joints": joints}, {"joints": joints})
    recorder = ListRecorder()
    report = run_policy(
        robot, SinusoidPolicy(so101_spec), recorder=recorder, seconds=1.0, rate_hz=0
    )
    assert report.safety_stops == 1 and report.steps == 5
    kinds = [c[0] for c in recorder.calls]
    assert kinds[0] == "start" and "step" in kinds and "end" not in kinds


class _DroppingCamera:
    """A camera that has no fresh frame for reads number ``first``..``last`` (1-based)."""

    @staticmethod
    def make(first, last):
        from groot_sdk.hardware import SyntheticCamera

        class Dropping(SyntheticCamera):
            reads = 0

            def read(self):  # transient: not a permanent fault, like OpenCVCamera
                self._require("read", State.INACTIVE, State.ACTIVE)
                Dropping.reads += 1
                if first <= Dropping.reads <= last:
                    raise HardwareError(f"camera '{self.camera}': no new frame for 0.50 s")
                return self._read()

        return Dropping


class _LookingHold(HoldPolicy):
    @property
    def layout(self):
        return ModalityLayout.from_spec(self.spec)


def test_camera_without_frames_holds_then_resumes(so101_spec):
    robot = mock_embodiment(so101_spec)
    robot.sensors["wrist"] = _DroppingCamera.make(3, 5)("wrist", 64, 48)
    config = DeployConfig(rate_hz=0, seconds=2.0, timeout=0.5, replan_every=1)
    deployer = RealtimeDeployer(robot, _LookingHold(so101_spec), config)
    report = deployer.run()
    assert report.safety_stops == 0 and report.extra["camera_faults"] == 3
    assert any("no observation: camera 'wrist'" in e for _, e in deployer.events)


def test_camera_that_never_recovers_ends_in_a_safe_stop(so101_spec):
    robot = mock_embodiment(so101_spec)
    robot.sensors["wrist"] = _DroppingCamera.make(2, 10**9)("wrist", 64, 48)
    config = DeployConfig(rate_hz=0, seconds=5.0, timeout=0.3)
    deployer = RealtimeDeployer(robot, _LookingHold(so101_spec), config)
    report = deployer.run()
    events = [e for _, e in deployer.events]
    assert report.safety_stops == 1 and "watchdog" in report.stop_reason
    assert events.index(next(e for e in events if e.startswith("hold"))) < events.index(
        "safe stop: watchdog"
    )
    assert joints_of(robot).safe
