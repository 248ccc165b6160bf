"""A lost teleop device: the deployer's watchdog holds within the tick and stops safely after
its timeout, exactly as for a policy that stops answering (no safety code of teleop's own)."""

import numpy as np
import pytest

from groot_sdk.deploy import DeployConfig
from groot_sdk.plugins import get_registry
from groot_sdk.teleop import InputEvent, ScriptedInput, TeleopInput
from groot_sdk.teleop.factory import build_policy
from groot_sdk.teleop.session import TeleopSession


class _FaultAt:
    """A scripted keyboard that, at control time ``at``, also kills the leader's bus (every
    servo stops replying): what pulling the leader's USB cable looks like to the driver."""

    def __init__(self, at, kill, events=()):
        self.at, self.kill, self.fired = at, kill, None
        self.inner = ScriptedInput(events)

    def poll(self, t):
        if self.fired is None and t >= self.at:
            self.fired = t
            self.kill()
        return self.inner.poll(t)

    @property
    def lost(self):
        return False

    def close(self):
        pass


def _events(report_events, prefix):
    return [t for t, what in report_events if what.startswith(prefix)]


@pytest.mark.timeout(300)
def test_leader_bus_dies_hold_then_safe_stop():
    """The simulated leader bus stops answering at t = 1 s: the follower holds from the next
    policy step and is safe-stopped ``timeout`` (0.5 s of control time) later; exit 3."""
    pytest.importorskip("serial", reason="pyserial runs the leader's bus")
    pytest.importorskip("mujoco", reason="the SO-101 simulator")
    entry = get_registry().embodiment("so101")
    spec = entry.spec
    start = [InputEvent(0.1, "key", "space")]
    holder = {}

    def kill():
        sim = holder["policy"].mapping._owned[0]
        for i in sim.servos:
            sim.inject(i, "no_reply")

    source = _FaultAt(1.0, kill, start)
    inp = TeleopInput(source)
    policy = build_policy(entry, "leader", inp, options={"fake": True, "timeout_s": 0.01})
    holder["policy"] = policy
    robot = entry.make_sim(seed=0, render=False)
    stops = []
    real_stop = robot.safe_stop
    robot.safe_stop = lambda: stops.append(1) or real_stop()
    config = DeployConfig(rate_hz=0, timeout=0.5, seed=0, hardware=False)
    session = TeleopSession(robot, policy, inp, config, episodes=1, say=lambda m: None)
    try:
        report = session.run()
        stopped_by_run = len(stops)  # robot.close() safe-stops once more
    finally:
        policy.close()
        robot.close()
    assert source.fired is not None
    assert report.safety_stops == 1 and "watchdog" in report.stop_reason, report.to_json()
    assert report.holds == 1 and stopped_by_run == 1
    events = session.deployer.events
    hold = _events(events, "hold")
    stop = _events(events, "safe stop")
    assert hold and stop and hold[0] < stop[0]
    # control time: the hold starts within one policy step of the fault (plus the tick the
    # fault was polled on), the stop one timeout after the hold
    assert hold[0] - (source.fired - 0.0) <= spec.rates.policy_dt + spec.rates.low_level_dt
    assert stop[0] - hold[0] == pytest.approx(0.5, abs=2 * spec.rates.low_level_dt)
    assert report.extra["teleop"]["saved"] == 0


@pytest.mark.timeout(300)
def test_keyboard_lost_on_fetch_holds_then_stops():
    """The input device goes away (a closed terminal, an unplugged pad) while a key is held:
    hold, then safe stop; the gripper stops moving at the hold."""
    pytest.importorskip("gymnasium_robotics", reason="Fetch needs gymnasium-robotics")
    entry = get_registry().embodiment("fetch")
    events = [
        InputEvent(0.0, "key", "space"),
        InputEvent(0.1, "key", "w", 1.0),
        InputEvent(0.5, "lost"),
    ]
    inp = TeleopInput(ScriptedInput(events))
    policy = build_policy(entry, "keyboard", inp)
    robot = entry.make_sim(seed=0, render=False)
    config = DeployConfig(rate_hz=0, timeout=0.4, seed=0, hardware=False)
    session = TeleopSession(robot, policy, inp, config, episodes=1, say=lambda m: None)
    with robot:
        report = session.run()
    assert report.safety_stops == 1 and "watchdog" in report.stop_reason
    hold = _events(session.deployer.events, "hold")
    assert hold and 0.5 <= hold[0] <= 0.5 + 2 * entry.spec.rates.policy_dt


def test_device_lost_is_not_an_observation_fault():
    """DeviceLost must reach the controller as a failed answer (hold first), not as an
    ObservationError (an immediate fault stop)."""
    from groot_sdk.errors import ObservationError
    from groot_sdk.teleop import DeviceLost

    assert not issubclass(DeviceLost, ObservationError)


def test_safety_filter_bounds_a_leader_jump():
    """A leader jumping across the range is followed at the follower's velocity limit: the
    controller's safety filter, unchanged."""
    from groot_sdk.deploy import Controller
    from groot_sdk.teleop.policy import TeleopPolicy

    spec = get_registry().embodiment("so101").spec
    target = np.array(spec.upper, np.float32) * 0.9

    class Jump:
        def reset(self):
            pass

        def __call__(self, state, axes):
            return target

    ctl = Controller(spec, TeleopPolicy(spec, Jump()), DeployConfig(rate_hz=0), hardware=False)
    q = np.zeros(spec.dof, np.float32)
    steps = []
    with ctl:
        for k in range(5):
            cmd = ctl.step(q, t=k * spec.rates.low_level_dt)
            steps.append(np.abs(cmd.position - q).max())
            q = cmd.position
    vmax = max(j.velocity_limit for j in spec.joints)
    assert max(steps) <= vmax * spec.rates.low_level_dt * 2 + 1e-6
    assert not np.allclose(q, target)
