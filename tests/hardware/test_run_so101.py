"""The full `groot run` loop on the SO-101 driver against the simulated STS3215 bus: the
commanded goal positions must arrive as the right bytes, and a fault must end torque-off."""

import json
import threading

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("serial", reason="pyserial (extra 'serial') is needed")

from groot_sdk_so101.feetech import protocol as p
from groot_sdk_so101.feetech.calibration import Calibration, TickConverter
from groot_sdk_so101.feetech.sim import SimulatedFeetechBus
from groot_sdk_so101.spec import SERVO_IDS, SPEC

from groot_sdk.cli.main import cli
from groot_sdk.plugins import get_registry

IDS = list(SERVO_IDS.values())


def _policy(name):
    if name not in get_registry().backends():
        pytest.skip(f"policy backend '{name}' is not registered yet")
    return name


@pytest.fixture
def bus(tmp_path):
    cal = Calibration.default_for(SPEC, SERVO_IDS)
    path = cal.save(tmp_path / "so101.json")
    start = TickConverter(SPEC, cal).to_ticks(np.array(SPEC.defaults))
    with SimulatedFeetechBus(IDS, dict(zip(IDS, (int(t) for t in start)))) as sim:
        yield sim, cal, path


def _goal_writes(sim):
    out = []
    for pkt in sim.sent(p.Inst.SYNC_WRITE):
        if pkt.params[0] != p.Reg.GOAL_POSITION.addr:
            continue
        assert pkt.servo_id == p.BROADCAST_ID and pkt.params[1] == 2
        body = pkt.params[2:]
        assert [body[k] for k in range(0, len(body), 3)] == IDS
        out.append([int.from_bytes(body[k + 1 : k + 3], "little") for k in range(0, len(body), 3)])
    return np.array(out)


@pytest.mark.parametrize("policy", ["ik", "sinusoid"])
def test_groot_run_goal_positions_arrive_as_bytes(bus, tmp_path, policy):
    sim, cal, cal_path = bus
    telemetry = tmp_path / "telemetry.jsonl"
    args = [
        "run", "--embodiment", "so101", "--port", sim.port, "--hw", f"calibration={cal_path}",
        "--policy", _policy(policy), "--seconds", "5", "--telemetry", str(telemetry), "--json",
    ]  # fmt: skip
    if policy == "ik":  # the sim engineer's baseline reaches the point named in the task
        args += ["--task", "reach the target at (0.200, 0.050, 0.150)"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["safety_stops"] == 0 and report["stop_reason"] == "completed"
    ticks = [json.loads(line) for line in telemetry.read_text().splitlines()]
    assert len(ticks) == round(5 * SPEC.rates.low_level_hz)
    goals = _goal_writes(sim)
    # one goal write to switch torque on in place, then one per control tick
    assert len(goals) == 1 + len(ticks)
    conv = TickConverter(SPEC, cal)
    run = [(k, t) for k, t in enumerate(ticks) if t["mode"] == "run"]
    assert len(run) > 0.9 * len(ticks)
    expected = np.array(
        [conv.to_ticks(np.clip(t["command"], SPEC.lower, SPEC.upper)) for _, t in run]
    )
    got = goals[[1 + k for k, _ in run]]
    diff = np.abs(got - expected)
    # telemetry rounds commands to 1e-5 rad, a tick is 1.5e-3 rad: rarely one tick off
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99
    assert np.ptp(got, axis=0).max() > 20  # the arm really moved
    assert not any(s.torque for s in sim.servos.values())  # ended torque off


@pytest.mark.parametrize(
    "fault, match",
    [
        (lambda s: s.inject(3, "no_reply"), "servo 3 (elbow_flex)"),
        (lambda s: s.set_error(5, p.ErrorBit.OVERLOAD), "servo 5 (wrist_roll) reports overload"),
    ],
)
def test_device_fault_during_the_loop_ends_in_a_safe_stop(bus, fault, match):
    sim, _, cal_path = bus
    timer = threading.Timer(1.0, fault, args=(sim,))
    timer.start()
    args = [
        "run", "--embodiment", "so101", "--port", sim.port, "--hw", f"calibration={cal_path}",
        "--hw", "timeout_s=0.05", "--policy", "sinusoid", "--seconds", "5", "--json",
    ]  # fmt: skip
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        timer.cancel()
    assert result.exit_code == 3, result.output  # a safety stop, with --json too
    report = json.loads(result.output[result.output.index("{") :])
    assert report["safety_stops"] == 1
    assert report["stop_reason"].startswith("fault:") and match in report["stop_reason"]
    assert report["steps"] < 5 * SPEC.rates.low_level_hz
    # torque off reached every servo, including the one that stopped answering
    assert not any(s.torque for s in sim.servos.values())
