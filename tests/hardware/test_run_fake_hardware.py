"""`groot run --fake-hardware` on every robot, and device faults inside the deployer's loop
ending in each robot's safe state (BHL: damping then idle; G1: damping; SO-101: torque off)."""

import importlib.util
import json
import threading
import time

import pytest
from click.testing import CliRunner

from groot_sdk.cli.main import cli
from groot_sdk.deploy.loop import run_policy
from groot_sdk.plugins import get_registry
from groot_sdk.policy.factory import make_backend

HAVE_CAN = importlib.util.find_spec("can") is not None
HAVE_DDS = all(importlib.util.find_spec(m) for m in ("cyclonedds", "unitree_sdk2py"))


@pytest.mark.parametrize(
    "embodiment, extra",
    [
        pytest.param("so101", [], marks=pytest.mark.skipif(
            importlib.util.find_spec("serial") is None, reason="pyserial is needed")),
        pytest.param("bhl", ["--hw", "startup_s=0.3"], marks=pytest.mark.skipif(
            not HAVE_CAN, reason="python-can is needed")),
        pytest.param("g1_inspire", [], marks=pytest.mark.skipif(
            not HAVE_DDS, reason="Unitree's SDK and CycloneDDS are not installed (extra 'dds')")),
    ],
)  # fmt: skip
def test_groot_run_fake_hardware(embodiment, extra):
    args = ["run", "--embodiment", embodiment, "--fake-hardware", "--policy", "sinusoid",
            "--seconds", "1", "--json", *extra]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exception is None, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["stop_reason"] == "completed" and report["safety_stops"] == 0, report
    spec = get_registry().embodiment(embodiment).spec
    assert report["steps"] == round(spec.rates.low_level_hz)


def _run_with_fault(robot, inject, seconds=3.0):
    spec = robot.spec
    policy = make_backend("sinusoid", spec)
    timer = threading.Timer(0.8, inject)
    timer.start()
    try:
        report = run_policy(robot, policy, seconds=seconds)
    finally:
        timer.cancel()
    return report


def _eventually(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return predicate()


@pytest.mark.skipif(not HAVE_CAN, reason="python-can is needed")
@pytest.mark.parametrize("fault", ["missing_feedback", "error_flags", "bus_error"])
def test_bhl_fault_in_the_loop_ends_damped_then_idle(fault):
    from groot_sdk_bhl.driver import make_hardware
    from groot_sdk_bhl.recoil import protocol as rp
    from groot_sdk_bhl.spec import CAN_MAP, SPEC

    robot = make_hardware(SPEC, fake=True, startup_s=0.2, error_poll_every=2)
    sims = [o for o in robot.sensors["joints"]._owned if hasattr(o, "controllers")]
    b, d = CAN_MAP["leg_right_knee_pitch_joint"]

    def inject():
        if fault == "error_flags":
            sims[b].set_error(d, rp.ErrorBit.OVER_CURRENT)
        else:
            sims[b].inject(d, fault)

    report = _run_with_fault(robot, inject)
    modes = lambda: {c.mode for s in sims for c in s.controllers.values()}
    assert report.safety_stops == 1
    assert "leg_right_knee_pitch_joint" in report.stop_reason
    assert _eventually(lambda: modes() == {rp.Mode.DAMPING})  # the safe state
    robot.close()
    assert _eventually(lambda: modes() == {rp.Mode.IDLE})  # then idle on close


@pytest.mark.skipif(not HAVE_DDS, reason="Unitree's SDK and CycloneDDS are not installed")
def test_g1_lost_state_in_the_loop_ends_damped():
    from groot_sdk_g1_inspire.driver import make_hardware
    from groot_sdk_g1_inspire.spec import SPEC

    robot = make_hardware(SPEC, fake=True, rate_hz=100)
    sim = robot.sensors["body"]._owned[0]
    report = _run_with_fault(robot, sim.silent.set)
    try:
        assert report.safety_stops == 1 and "no LowState" in report.stop_reason
        assert _eventually(
            lambda: sim.command.kp[:29].max() == 0 and sim.command.kd[:29].min() > 0
        )  # damping (mode 1, kp 0, kd > 0) is what the robot now receives
        assert sim.command.mode[:29].all() and sim.bad_crc == 0
    finally:
        robot.close()


def test_so101_fault_in_the_loop_ends_torque_off():
    pytest.importorskip("serial", reason="pyserial is needed")
    from groot_sdk_so101.driver import make_hardware
    from groot_sdk_so101.feetech import protocol as p
    from groot_sdk_so101.spec import SPEC

    robot = make_hardware(SPEC, fake=True)
    sim = robot.sensors["servos"]._owned[0]
    report = _run_with_fault(robot, lambda: sim.set_error(6, p.ErrorBit.OVERHEAT))
    try:
        assert (
            report.safety_stops == 1 and "servo 6 (gripper) reports overheat" in report.stop_reason
        )
        assert not any(s.torque for s in sim.servos.values())
    finally:
        robot.close()
