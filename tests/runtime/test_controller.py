"""The passive controller (issue 17 item 1): a host loop of its own drives the deployer's policy
execution. Everything runs in control time on the in-memory mock robot (no sleeps, no timed
assertions); where answers must land before the next step, the test waits for the worker."""

import threading

import attrs
import numpy as np
import pytest

import groot_sdk
from groot_sdk.deploy import Controller, DeployConfig, RealtimeDeployer
from groot_sdk.embodiment import mock_embodiment
from groot_sdk.errors import ObservationError
from groot_sdk.modality import ModalityLayout
from groot_sdk.policy.backend import PolicyBackend
from groot_sdk.policy.baselines import SinusoidPolicy
from groot_sdk.spec import ControlRates


class Planned(PolicyBackend):
    """Answers ``plan(call)`` -> (horizon, dof) absolute joint targets; optionally blocks from
    call ``block_from`` on until ``release`` is set."""

    def __init__(self, spec, plan, block_from=None):
        self.spec, self.plan, self.block_from = spec, plan, block_from
        self._layout = attrs.evolve(ModalityLayout.from_spec(spec), video=())
        self.calls = self.resets = 0
        self.release = threading.Event()

    @property
    def layout(self):
        return self._layout

    def reset(self, options=None):
        self.resets += 1

    def get_action(self, observation):
        self.calls += 1
        if self.block_from is not None and self.calls >= self.block_from:
            self.release.wait(30)
        values = np.asarray(self.plan(self.calls), np.float32)
        values = np.broadcast_to(values, (self._layout.action_horizon, self.spec.dof))
        return {f"action.{g.key}": values[:, g.slice].copy() for g in self.spec.action_groups}


def _vmax(spec):
    return np.array([j.velocity_limit for j in spec.joints], np.float32)


def test_controller_is_public():
    assert {"Controller", "Command", "DeployConfig"} <= set(groot_sdk.__all__)
    assert groot_sdk.Controller is Controller


def test_host_loop_at_its_own_irregular_rate_follows_the_plan(so101_spec):
    """Irregular host periods (0.2 to 3 control ticks): the policy is asked at most once per
    policy period, each setpoint is the chunk sampled at the host's own ``t``, and no step
    is longer than the velocity limit times the control time since the last one."""
    spec = so101_spec
    policy = SinusoidPolicy(spec, amplitude=0.3, frequency=0.5)
    rng = np.random.default_rng(0)
    dt, vmax = spec.rates.low_level_dt, _vmax(spec)
    t, prev_t, errors = 3.5, None, []
    q = policy.targets(t)[0].astype(np.float32)  # start on the plan
    with Controller(spec, policy, DeployConfig(), hardware=False) as ctl:
        ctl.reset(q)
        for _ in range(400):
            cmd = ctl.step(q, None, t)
            ctl.wait_idle(10.0)  # the answer lands before the next step (deterministic)
            assert cmd.mode == "run" and cmd.t == t
            assert np.all(cmd.position >= np.array(spec.lower, np.float32))
            assert np.all(cmd.position <= np.array(spec.upper, np.float32))
            if prev_t is not None:
                assert np.all(np.abs(cmd.position - q) <= vmax * (t - prev_t) + 1e-5)
            # the sinusoid's value at the host's time (the chunk is placed in control time)
            errors.append(np.abs(cmd.position - policy.targets(t)[0]).max())
            q, prev_t = cmd.position, t
            t += float(rng.uniform(0.2, 3.0)) * dt
        times = np.array(ctl.request_times)
    assert times.size > 10
    assert np.diff(times).min() >= spec.rates.policy_dt - 1e-9
    assert max(errors[1:]) < 5e-3, max(errors[1:])


def test_watchdog_holds_then_stops_when_the_backend_hangs(so101_spec):
    spec = so101_spec
    policy = Planned(spec, lambda call: spec.defaults, block_from=2)  # the 2nd call hangs
    timeout = 0.2
    ctl = Controller(spec, policy, DeployConfig(timeout=timeout), hardware=False)
    dt = spec.rates.low_level_dt
    q = np.asarray(spec.defaults, np.float32)
    modes, cmds = [], []
    try:
        for tick in range(200):
            cmd = ctl.step(q, None, tick * dt)
            modes.append(cmd.mode)
            cmds.append(cmd)
            if cmd.mode == "stop":
                break
        hung_at = ctl.request_times[1]
        first_hold = modes.index("hold")
        assert set(modes[:first_hold]) == {"run"}
        hold_t = cmds[first_hold].t
        assert hung_at + timeout < hold_t <= hung_at + timeout + dt + 1e-9
        assert cmds[first_hold].reason == "policy did not answer"
        assert np.array_equal(cmds[first_hold].position, cmds[first_hold - 1].position)
        stop = cmds[-1]
        assert stop.mode == "stop" and stop.safety and "watchdog" in stop.reason
        assert hold_t + timeout < stop.t <= hold_t + timeout + dt + 1e-9
        assert set(modes[first_hold:-1]) == {"hold"}
        # a stop stays a stop until reset, whatever the host sends
        assert ctl.step(q, None, stop.t + dt).mode == "stop"
        assert ctl.inference_in_flight  # the hung call ...
        ctl.close()  # ... is not waited for
    finally:
        policy.release.set()


@pytest.mark.parametrize("ticks", [0.5, 1.0, 3.0])
def test_safety_filter_clamps_per_control_time(so101_spec, ticks):
    """A target far outside the limits: setpoints stay inside, and each moves exactly the
    velocity limit times the host's control period (0.5, 1 or 3 low-level ticks)."""
    spec = so101_spec
    upper = np.array(spec.upper, np.float32)
    policy = Planned(spec, lambda call: upper + 1.0)
    dt, vmax = spec.rates.low_level_dt, _vmax(spec)
    h = ticks * dt
    q = np.asarray(spec.defaults, np.float32)
    ctl = Controller(spec, policy, DeployConfig(sync=True), hardware=False)
    with ctl:
        first = ctl.step(q, None, 0.0)
        assert np.allclose(first.position - q, vmax * dt, atol=1e-5)  # one tick after a start
        q = first.position
        for k in range(1, 400):
            cmd = ctl.step(q, None, k * h)
            assert np.all(cmd.position <= upper)
            moving = q < upper - vmax * h
            assert np.allclose((cmd.position - q)[moving], (vmax * h)[moving], atol=1e-5)
            q = cmd.position
        assert ctl.safety.limited > 0
    assert np.allclose(q, upper, atol=1e-5)  # it got there, no further


def test_on_hardware_the_bound_is_measured_time(so101_spec):
    """hardware=True: control time running 10x faster than the (fake) monotonic clock moves a
    joint at the velocity limit in measured time, not in control time."""
    spec = so101_spec
    upper = np.array(spec.upper, np.float32)
    ctl = Controller(spec, Planned(spec, lambda call: upper + 1.0), DeployConfig(sync=True))
    assert ctl.hardware  # the default: a bare controller assumes a real robot
    wall = [100.0]
    ctl.monotonic = lambda: wall[0]
    dt, vmax = spec.rates.low_level_dt, _vmax(spec)
    q = np.asarray(spec.defaults, np.float32)
    with ctl:
        q = ctl.step(q, None, 0.0).position
        for k in range(1, 20):
            wall[0] += 0.1 * dt
            cmd = ctl.step(q, None, k * dt)
            assert np.allclose(cmd.position - q, vmax * 0.1 * dt, atol=1e-5)
            q = cmd.position
    assert ctl.wall_limited == 19


@pytest.mark.parametrize("blend", [None, 0.0])
def test_chunks_cross_fade(so101_spec, blend):
    """Each chunk is a level 0.04 rad above the last (below the per-tick velocity bound, so
    the filter does not hide a jump): with the default blend (one policy step) a new chunk
    fades in over two ticks; with blend 0 the setpoint jumps by the whole step."""
    spec = so101_spec
    jump = 0.04
    assert jump < _vmax(spec)[0] * spec.rates.low_level_dt
    policy = Planned(spec, lambda call: np.full(spec.dof, jump * call))
    dt = spec.rates.low_level_dt
    q = np.full(spec.dof, jump, np.float32)
    steps = []
    with Controller(spec, policy, DeployConfig(blend=blend), hardware=False) as ctl:
        assert not ctl.sync
        ctl.reset(q)
        for tick in range(80):
            cmd = ctl.step(q, None, tick * dt)
            ctl.wait_idle(10.0)
            assert cmd.mode == "run"
            steps.append(float(np.abs(cmd.position - q).max()))
            q = cmd.position
    assert policy.calls >= 4
    if blend is None:
        assert max(steps) <= jump / 2 + 1e-6
    else:
        assert max(steps) == pytest.approx(jump, abs=1e-6)


def test_hold_reset_and_close(so101_spec):
    spec = so101_spec
    level = [0.1]
    gate = threading.Event()
    gate.set()

    def plan(call):
        gate.wait(30)
        return np.full(spec.dof, level[0])

    policy = Planned(spec, plan)
    timeout = 0.1
    ctl = Controller(spec, policy, DeployConfig(timeout=timeout, sync=True), hardware=False)
    dt = spec.rates.low_level_dt
    q = np.zeros(spec.dof, np.float32)
    t = 0.0
    for _ in range(10):
        cmd = ctl.step(q, None, t)
        q, t = cmd.position, t + dt
    assert cmd.mode == "run" and policy.resets == 1  # the first step reset the episode
    # hold: the last setpoint, no policy calls, no watchdog however long it lasts
    held = ctl.hold()
    assert held.mode == "hold" and np.array_equal(held.position, q)
    calls = policy.calls
    for _ in range(int(5 * timeout / dt)):
        cmd = ctl.step(q, None, t)
        t += dt
        assert cmd.mode == "hold" and np.array_equal(cmd.position, held.position)
    assert policy.calls == calls
    ctl.resume()
    cmd = ctl.step(q, None, t)
    assert cmd.mode == "run" and policy.calls == calls + 1
    ctl.close()
    # reset: a new episode from the given setpoint; an answer to the old one is dropped
    ctl = Controller(spec, policy, DeployConfig(timeout=timeout), hardware=False)
    assert not ctl.sync
    t = 0.0
    while True:  # async: step until a request is in flight (the gate holds it)
        cmd = ctl.step(q, None, t)
        q, t = cmd.position, t + dt
        if policy.calls == calls + 2:  # the first chunk came; from now on requests hang
            gate.clear()
        if ctl.inference_in_flight:
            break
    level[0] = 0.5  # what the hung request will answer
    threading.Timer(0.05, gate.set).start()
    ctl.reset(np.full(spec.dof, 0.3, np.float32), task="new task")  # waits for the worker
    assert policy.resets == 3 and ctl.instruction == "new task"
    assert not ctl.inference_in_flight
    level[0] = 0.35
    first = ctl.step(np.full(spec.dof, 0.3, np.float32), None, 100.0)  # any time origin
    assert first.mode == "run" and first.t == 100.0
    assert np.allclose(first.position, 0.35, atol=1e-5)  # the new episode's chunk, not 0.5
    # bad input: one line naming what is wrong
    with pytest.raises(ObservationError, match="never decrease"):
        ctl.step(first.position, None, 99.0)
    with pytest.raises(ObservationError, match="shoulder_pan"):
        ctl.step(np.zeros(3), None, 101.0)
    worker = ctl.worker
    ctl.close()
    assert worker is not None and not worker._thread.is_alive()


def test_interrupt_ends_a_wait_for_the_first_chunk(so101_spec):
    spec = so101_spec
    policy = Planned(spec, lambda call: spec.defaults, block_from=1)
    ctl = Controller(spec, policy, DeployConfig(startup_timeout=3600.0), hardware=False)
    threading.Timer(0.1, ctl.interrupt).start()
    try:
        cmd = ctl.step(np.asarray(spec.defaults), None, 0.0)  # would wait an hour
        assert cmd.mode == "stop" and not cmd.safety
    finally:
        policy.release.set()
        ctl.close()


def _deployer_writes(spec, policy, config):
    robot = mock_embodiment(spec)
    writes = []
    write = robot.write

    def recording_write(position, velocity=None):
        writes.append(np.array(position, np.float32))
        write(position, velocity)

    robot.write = recording_write
    report = RealtimeDeployer(robot, policy, config).run()
    assert report.stop_reason == "completed" and report.holds == 0
    return np.array(writes)


def _host_writes(spec, policy, config, host_hz, ticks):
    """A plain host loop over the controller on its own mock robot at ``host_hz``."""
    robot = mock_embodiment(spec)
    robot.connect()
    robot.enable()
    out = []
    with Controller(spec, policy, config, hardware=False) as ctl:
        for k in range(ticks):
            cmd = ctl.step(robot.read_joints(), robot.read_cameras, k / host_hz)
            assert cmd.mode == "run"
            robot.write(cmd.position)
            out.append(cmd.position)
    robot.close()
    return np.array(out)


def test_deployer_and_a_host_loop_send_the_same_setpoints(so101_spec):
    """Lock-step simulation: the deployer and a plain loop over the controller, same policy,
    same options, same inputs: the same setpoints, bit for bit (the sinusoid is fast enough
    for the velocity filter to bind)."""
    spec = so101_spec
    config = DeployConfig(rate_hz=0, seconds=3.0)
    deployer = _deployer_writes(spec, SinusoidPolicy(spec, 0.6, 1.5), config)
    host = _host_writes(
        spec, SinusoidPolicy(spec, 0.6, 1.5), config, spec.rates.low_level_hz, len(deployer)
    )
    assert len(deployer) == round(3.0 * spec.rates.low_level_hz)
    np.testing.assert_array_equal(host, deployer)


def test_a_100_hz_host_gets_the_deployers_setpoints_of_a_250_hz_loop(so101_spec):
    """Issue 17: a foreign loop at another rate than the policy (100 Hz host, 25 Hz policy,
    250 Hz low level) gets the same setpoints as the deployer at the times both have."""
    spec = attrs.evolve(so101_spec, rates=ControlRates(policy_hz=25.0, low_level_hz=250.0))
    config = DeployConfig(rate_hz=0, seconds=2.0)
    deployer = _deployer_writes(spec, SinusoidPolicy(spec, 0.2, 0.5), config)
    host = _host_writes(spec, SinusoidPolicy(spec, 0.2, 0.5), config, 100.0, 200)
    # common times: every 2nd host tick (0.02 s) is every 5th deployer tick
    np.testing.assert_allclose(host[::2], deployer[::5][: len(host[::2])], atol=1e-5)
    assert not np.allclose(host[0], host[-1])  # it moved


@pytest.mark.parametrize("every", [1, 3])
def test_the_embedding_example_runs(every, capsys):
    """examples/embed_controller.py: a plain loop over the SO-101 simulator (the host at the
    sim's rate and at a third of it) reaches every target, like `groot run`."""
    pytest.importorskip("mujoco")
    import importlib.util
    import os
    from pathlib import Path

    os.environ.setdefault("MUJOCO_GL", "egl")
    path = Path(__file__).parents[2] / "examples" / "embed_controller.py"
    module_spec = importlib.util.spec_from_file_location("embed_controller", path)
    assert module_spec is not None and module_spec.loader is not None
    example = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(example)
    result = example.main(["--episodes", "2", "--every", str(every), "--seed", "3"])
    assert result["episodes"] == 2 and result["successes"] == 2
    assert '"successes": 2' in capsys.readouterr().out
