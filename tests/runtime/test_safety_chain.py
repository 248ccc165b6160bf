"""The safety chain (watchdog, velocity limit, position limit, stop on signal), attacked through
every option that reaches it: no value may switch a piece off, and the velocity limit holds in
wall-clock time on hardware whatever the tick rate.

No timed assertions: wall-clock behaviour is checked with a fake clock that the fake device
advances, and "does not wait" is checked by policies that block for an hour (a regression
hangs and pytest-timeout fails it).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from groot_sdk.deploy import DeployConfig, RealtimeDeployer, run_policy
from groot_sdk.deploy.inference import InferenceWorker
from groot_sdk.embodiment import Embodiment, mock_embodiment
from groot_sdk.hardware import Actuator, Component, JointCommand, JointEncoder, JointState
from groot_sdk.hardware.options import OptionError
from groot_sdk.policy.simple import HoldPolicy

pytestmark = pytest.mark.timeout(120)


# -- doubles ------------------------------------------------------------------------------------
class FakeClock:
    """Monotonic seconds that only the fake device advances (one ``step`` per write)."""

    def __init__(self, step: float) -> None:
        self.now = 100.0
        self.step = step

    def __call__(self) -> float:
        return self.now


class FakeServos(JointEncoder, Actuator):
    """A position-controlled bus that stamps each write with the fake clock, then lets
    ``clock.step`` seconds pass: a device whose ticks are not the control ticks.
    (Not a ``MirrorJoints``: the deployer treats that in-memory mock as a simulator.)"""

    def __init__(self, spec, clock: FakeClock) -> None:
        Component.__init__(self, "servos")
        self.joint_names = spec.joint_names
        self.clock = clock
        self.position = np.array(spec.defaults, np.float32)
        self.writes: list[tuple[float, np.ndarray]] = []
        self.safe = True

    def _on_enable(self) -> None:
        self.safe = False

    def _on_disable(self) -> None:
        self.safe = True

    def _read(self) -> JointState:
        return JointState(self.position.copy(), np.zeros_like(self.position), stamp=self.clock())

    def _write(self, command: JointCommand) -> None:
        self.writes.append((self.clock(), command.position.copy()))
        self.position = command.position.copy()
        self.clock.now += self.clock.step

    def _hold(self) -> None:
        pass


class FarTarget(HoldPolicy):
    """Commands every joint to its upper limit + 1 rad: as fast and as far as possible."""

    def get_action(self, observation):
        chunk = super().get_action(observation)
        return {k: np.full_like(v, 10.0) for k, v in chunk.items()}


class Blocking(HoldPolicy):
    """Answers ``answers`` requests, then blocks in ``get_action`` for an hour."""

    def __init__(self, spec, answers: int = 0) -> None:
        super().__init__(spec)
        self.answers = answers
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()

    def get_action(self, observation):
        self.calls += 1
        if self.calls > self.answers:
            self.entered.set()
            self.release.wait(3600)
        return super().get_action(observation)


def fake_hardware(spec, step: float):
    clock = FakeClock(step)
    servos = FakeServos(spec, clock)
    return Embodiment(spec, {"servos": servos}, {"servos": servos}), servos, clock


# -- watchdog -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", math.nan),
        ("timeout", math.inf),
        ("timeout", 0.0),
        ("timeout", -1.0),
        ("timeout", 1e9),  # a robot holding for 30 years is a watchdog switched off
        ("startup_timeout", math.nan),
        ("startup_timeout", math.inf),
        ("rate_hz", math.nan),
        ("rate_hz", -1.0),
        ("rate_hz", math.inf),
        ("seconds", math.nan),
        ("replan_every", 0),
        ("blend", math.nan),
        ("command", (math.nan, 0.0, 0.0)),
        ("command", (1.0, 2.0)),
        ("rt_priority", 1000),
        ("status_every", math.nan),
    ],
)
def test_no_config_value_switches_a_safety_piece_off(field, value):
    """Finding 1: ``timeout=nan`` made ``now - hold_since > timeout`` false for ever."""
    with pytest.raises(OptionError, match=field):
        DeployConfig(**{field: value})
    cfg = DeployConfig()
    with pytest.raises(OptionError, match=field):  # nor by setting it afterwards
        setattr(cfg, field, value)


def test_a_dead_policy_ends_in_a_safety_stop_not_a_hold_for_ever(so101_spec):
    robot = mock_embodiment(so101_spec)
    policy = Blocking(so101_spec, answers=1)
    try:
        report = run_policy(robot, policy, seconds=60.0, rate_hz=0, timeout=0.2)
    finally:
        policy.release.set()
    assert report.safety_stops == 1 and "watchdog" in report.stop_reason
    assert robot.actuators["joints"].safe


def test_cli_refuses_a_watchdog_that_never_fires():
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli

    for value in ("nan", "inf", "1e9", "0"):
        result = CliRunner().invoke(
            cli, ["run", "-e", "so101", "--sim", "--policy", "zero", "--timeout", value]
        )
        assert result.exit_code == 2 and "--timeout" in result.output, result.output


# -- velocity limit -------------------------------------------------------------------------------
@pytest.mark.parametrize("ticks_per_measured_tick", [100.0, 10.0, 1.5])
@pytest.mark.parametrize("rate_hz", [0.0, 600.0])
def test_velocity_limit_holds_in_measured_time_on_hardware(
    so101_spec, rate_hz, ticks_per_measured_tick
):
    """Finding 3: with ticks faster than real time (``rate_hz=0`` or 10x), a per-tick clamp
    let a real joint move 100x its velocity limit. The device here sees
    ``dt / ticks_per_measured_tick`` seconds pass between writes (the fake clock)."""
    dt = so101_spec.rates.low_level_dt
    robot, servos, clock = fake_hardware(so101_spec, dt / ticks_per_measured_tick)
    dep = RealtimeDeployer(robot, FarTarget(so101_spec), DeployConfig(seconds=0.5, rate_hz=rate_hz))
    assert dep.hardware  # no simulator, not the in-memory mock
    dep.monotonic = clock
    report = dep.run()
    assert report.safety_stops == 0, report.stop_reason
    times = np.array([t for t, _ in servos.writes])
    cmds = np.array([c for _, c in servos.writes], np.float64)
    vmax = np.array([j.velocity_limit for j in so101_spec.joints])
    allowed = vmax * np.minimum(np.diff(times), dt)[:, None]
    steps = np.abs(np.diff(cmds, axis=0))
    assert (steps <= allowed + 1e-5).all(), f"max ratio {(steps / allowed).max():.1f}"
    assert steps.max() > 0 and report.extra["wall_clock_limited_setpoints"] > 0
    # the position limit still holds on top
    assert (cmds <= np.array(so101_spec.upper) + 1e-6).all()


def test_real_time_on_hardware_keeps_the_per_tick_bound(so101_spec):
    """When the device's clock runs at (or slower than) the control ticks, the measured bound
    adds nothing: the step is the per-tick one, ``velocity_limit * dt``."""
    dt = so101_spec.rates.low_level_dt
    robot, servos, clock = fake_hardware(so101_spec, 3 * dt)
    dep = RealtimeDeployer(robot, FarTarget(so101_spec), DeployConfig(seconds=0.2, rate_hz=0))
    dep.monotonic = clock
    dep.run()
    cmds = np.array([c for _, c in servos.writes], np.float64)
    vmax = np.array([j.velocity_limit for j in so101_spec.joints])
    steps = np.abs(np.diff(cmds, axis=0))
    moving = steps[:, 0] > 0
    assert np.allclose(steps[moving].max(axis=0)[:3], (vmax * dt)[:3], rtol=1e-3)
    assert dep.wall_limited == 0


def test_simulators_and_the_mock_step_per_tick(so101_spec):
    assert not RealtimeDeployer(mock_embodiment(so101_spec), HoldPolicy(so101_spec)).hardware
    robot, _, _ = fake_hardware(so101_spec, 0.001)
    dep = RealtimeDeployer(robot, HoldPolicy(so101_spec), DeployConfig(hardware=False))
    assert not dep.hardware  # explicit override (e.g. a hardware-in-the-loop simulator)


def test_cli_marks_hardware_runs(monkeypatch):
    """`groot run` without --sim asks the deployer for the measured-time bound, and refuses
    the lock-step rate 0."""
    pytest.importorskip("serial")
    from click.testing import CliRunner

    from groot_sdk.cli.main import cli
    from groot_sdk.deploy import loop

    seen = {}
    real_init = loop.RealtimeDeployer.__init__

    def spy(self, robot, policy, config=None, *a, **k):
        seen["hardware"] = config.hardware
        real_init(self, robot, policy, config, *a, **k)
        seen["resolved"] = self.hardware

    monkeypatch.setattr(loop.RealtimeDeployer, "__init__", spy)
    args = ["run", "-e", "so101", "--fake-hardware", "--policy", "zero", "--seconds", "0.05"]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert seen == {"hardware": True, "resolved": True}
    assert json.loads(result.output)["hardware_velocity_clock"] == "measured"
    result = CliRunner().invoke(cli, [*args, "--rate", "0"])
    assert result.exit_code == 2 and "--rate" in result.output


@pytest.mark.parametrize("value", [-1.0, 0.0, math.nan, math.inf, 10.0])
def test_driver_step_limit_cannot_be_inverted(value):
    """Finding 2: ``max_step_rad=-1`` made ``clip(target, last + 1, last - 1)`` send
    ``last - 1`` every write (1 rad per tick)."""
    pytest.importorskip("serial")
    from groot_sdk_so101.driver import So101Servos, make_servos
    from groot_sdk_so101.feetech.calibration import Calibration
    from groot_sdk_so101.spec import SERVO_IDS, SPEC

    with pytest.raises(OptionError, match="max_step_rad"):
        make_servos(SPEC, fake=True, max_step_rad=value)
    cal = Calibration.default_for(SPEC, SERVO_IDS)
    with pytest.raises(OptionError, match="max_step_rad"):
        So101Servos(SPEC, object(), cal, max_step_rad=value)  # type: ignore[arg-type]


# -- position limit -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "config",
    [
        {},
        {"rate_hz": 600.0},
        {"gripper": "1..0"},
        {"gripper": "-100..100"},
        {"action_map": {"single_arm": {"take": [0, 1, 2, 3, 4]}}},
        {"sync": True, "blend": 0.0},
    ],
    ids=str,
)
def test_no_option_lets_a_command_past_the_joint_limits(so101_spec, config):
    dt = so101_spec.rates.low_level_dt
    robot, servos, clock = fake_hardware(so101_spec, dt)
    dep = RealtimeDeployer(
        robot, FarTarget(so101_spec), DeployConfig(**{"seconds": 2.0, "rate_hz": 0, **config})
    )
    dep.monotonic = clock
    report = dep.run()
    assert report.safety_stops == 0, report.stop_reason
    cmds = np.array([c for _, c in servos.writes])
    assert (cmds >= np.array(so101_spec.lower) - 1e-6).all()
    assert (cmds <= np.array(so101_spec.upper) + 1e-6).all()
    assert np.isclose(cmds[-1], so101_spec.upper, atol=1e-4).any()  # it did push to a limit


# -- stop on signal -------------------------------------------------------------------------------
def test_sigterm_during_the_first_inference_stops_at_once(so101_spec):
    """Finding 5: the first chunk was waited for up to ``startup_timeout`` before the stop
    request was looked at. Here the policy blocks for an hour and startup_timeout is an hour:
    the run must still end (safely) as soon as SIGTERM arrives."""
    robot = mock_embodiment(so101_spec)
    policy = Blocking(so101_spec, answers=0)

    def kill_when_inferring():
        if policy.entered.wait(60):
            os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=kill_when_inferring, daemon=True)
    killer.start()
    dep = RealtimeDeployer(robot, policy, DeployConfig(seconds=60.0, startup_timeout=3600.0))
    try:
        report = dep.run()
        in_flight = dep.inference_in_flight
    finally:
        policy.release.set()
        killer.join(5)
    assert report.stop_reason == "interrupted (SIGTERM)"
    assert robot.actuators["joints"].safe  # the safe state was reached
    assert in_flight  # ... without waiting for the policy


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_a_lost_terminal_is_a_safe_stop_too(so101_spec):
    """SIGHUP (the ssh session of a run dropped) used to kill the process with torque on."""
    robot = mock_embodiment(so101_spec)
    policy = Blocking(so101_spec, answers=1)
    before = signal.getsignal(signal.SIGHUP)

    def hang_up():
        if policy.entered.wait(60):
            os.kill(os.getpid(), signal.SIGHUP)

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        report = run_policy(robot, policy, seconds=60.0, timeout=10.0)
    finally:
        policy.release.set()
    assert report.stop_reason == "interrupted (SIGHUP)"
    assert robot.actuators["joints"].safe
    assert signal.getsignal(signal.SIGHUP) is before


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_a_run_under_nohup_keeps_ignoring_sighup(so101_spec):
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    seen = []
    try:
        run_policy(
            mock_embodiment(so101_spec),
            HoldPolicy(so101_spec),
            on_status=lambda _s: seen.append(signal.getsignal(signal.SIGHUP)),
            seconds=0.1,
            rate_hz=0,
            status_every=0.0,
        )
    finally:
        signal.signal(signal.SIGHUP, before)
    assert seen and all(h is signal.SIG_IGN for h in seen)


def test_stop_request_ends_a_lock_step_wait(so101_spec):
    """The same in lock-step (each answer waited for up to ``timeout``)."""
    robot = mock_embodiment(so101_spec)
    policy = Blocking(so101_spec, answers=2)
    dep = RealtimeDeployer(robot, policy, DeployConfig(seconds=60.0, sync=True, timeout=10.0))
    stopper = threading.Thread(
        target=lambda: policy.entered.wait(60) and dep.stop("operator"), daemon=True
    )
    stopper.start()
    try:
        report = dep.run()
    finally:
        policy.release.set()
    assert report.stop_reason == "operator" and report.safety_stops == 0
    assert robot.actuators["joints"].safe
    # no hold was needed: the stop came before the watchdog's timeout
    assert report.holds == 0


def test_worker_wait_and_close_do_not_wait_for_a_blocked_policy(so101_spec):
    policy = Blocking(so101_spec)
    worker = InferenceWorker(policy)
    worker.submit(dict, "tag")
    assert policy.entered.wait(60)
    stop = threading.Event()
    stop.set()
    assert worker.wait_idle(3600, abort=stop) is False
    worker.close(timeout=3600)  # returns at once: the request is left to its daemon thread
    assert worker.pending
    policy.release.set()


def test_cli_closes_a_busy_backend_without_waiting():
    from groot_sdk.cli.commands.run import close_without_waiting

    release = threading.Event()
    closed = threading.Event()

    def close():  # like the remote client's close, waiting for the call in flight
        release.wait(3600)
        closed.set()

    close_without_waiting(close, in_flight=True, what="policy")
    assert not closed.is_set()
    release.set()
    calls = []
    close_without_waiting(lambda: calls.append(1), in_flight=False, what="policy")
    assert calls == [1]


def test_sigterm_during_a_remote_first_inference_exits_promptly(tmp_path):
    """Finding 5 end to end: `groot run -p remote://` on fake hardware, a policy server whose
    model never answers, SIGTERM while the first request is in flight. Before, the stop came
    after startup_timeout (30 s) and the exit waited for the request (timeout_ms); now the
    process ends in the safe state right away (the 60 s limit here only catches a hang)."""
    pytest.importorskip("serial")
    pytest.importorskip("zmq")
    from groot_sdk_so101.spec import SPEC

    from groot_sdk.remote.server import PolicyServer

    policy = Blocking(SPEC)
    server = PolicyServer(policy, SPEC, host="127.0.0.1", port=0)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    port = server.address.rsplit(":", 1)[1]
    cmd = [
        sys.executable, "-m", "groot_sdk.cli.main", "run", "-e", "so101", "--fake-hardware",
        "--policy", f"remote://127.0.0.1:{port}", "--policy-opt", "timeout_ms=600000",
        "--seconds", "60", "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert policy.entered.wait(60), "the first request never reached the server"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        policy.release.set()
        server.stop()
        serving.join(10)
    assert proc.returncode == 143, err[-2000:]  # 128 + SIGTERM (docs/running.md, issue 13)
    report = json.loads(out[out.index("{") :])
    assert report["stop_reason"] == "interrupted (SIGTERM)"
    assert report["steps"] == 0  # nothing was commanded without an action
