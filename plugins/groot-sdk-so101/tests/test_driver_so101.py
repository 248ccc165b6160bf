"""The SO-101 driver against a simulated STS3215 bus on a pty: real bytes both ways."""

import math
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("serial", reason="pyserial (extra 'serial') is needed for the servo bus")

from groot_sdk_so101.driver import make_hardware, make_servos
from groot_sdk_so101.feetech import protocol as p
from groot_sdk_so101.feetech.bus import FeetechBus, NoReplyError, ServoFaultError
from groot_sdk_so101.feetech.calibration import (
    Calibration,
    MotorCalibration,
    TickConverter,
    record_calibration,
)
from groot_sdk_so101.feetech.sim import SimulatedFeetechBus
from groot_sdk_so101.spec import SERVO_IDS, SPEC

from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.hardware import State

IDS = list(SERVO_IDS.values())
NAMES = {i: n for n, i in SERVO_IDS.items()}


@pytest.fixture
def sim():
    with SimulatedFeetechBus(IDS) as bus:
        yield bus


@pytest.fixture
def bus(sim):
    b = FeetechBus(sim.port, timeout_s=0.2, retries=2, names=NAMES)
    b.open()
    yield b
    b.close()


# -- protocol -------------------------------------------------------------------------------------
def test_packet_layout_and_checksum():
    # PING servo 1: FF FF 01 02 01 ~(1+2+1)
    assert p.instruction(1, p.Inst.PING) == bytes.fromhex("ffff010201fb")
    # READ 2 bytes at 56 from servo 3
    assert p.instruction(3, p.Inst.READ, bytes([56, 2])) == bytes.fromhex("ffff0304023802bc")
    pkt = p.sync_write_packet(p.Reg.GOAL_POSITION, {1: 2048, 2: 1000})
    assert pkt[:7] == bytes([0xFF, 0xFF, 0xFE, 2 + 2 + 6, 0x83, 42, 2])
    assert pkt[7:13] == bytes([1, 0x00, 0x08, 2, 0xE8, 0x03])
    reader = p.PacketReader()
    reader.feed(b"\x00\xff" + p.status(5, 0x20, b"\x01\x02"))
    assert reader.next() == p.Packet(5, 0x20, b"\x01\x02")
    bad = bytearray(p.status(5, 0, b"\x01"))
    bad[-1] ^= 1
    reader.feed(bytes(bad))
    with pytest.raises(p.ChecksumError, match="id 5"):
        reader.next()


@given(st.integers(-2047, 2047))
def test_sign_magnitude_roundtrip(value):
    raw = p.encode(p.Reg.HOMING_OFFSET, value)
    assert p.decode(p.Reg.HOMING_OFFSET, raw) == value
    assert (int.from_bytes(raw, "little") >> 11 & 1) == (value < 0)


def test_sign_magnitude_fields():
    assert p.encode(p.Reg.PRESENT_VELOCITY, -5) == (0x8005).to_bytes(2, "little")
    assert p.decode(p.Reg.PRESENT_LOAD, (0x400 | 300).to_bytes(2, "little")) == -300
    with pytest.raises(ValueError, match="magnitude 2048"):
        p.encode(p.Reg.HOMING_OFFSET, -2048)


def test_ticks_radians_roundtrip():
    cal = Calibration.default_for(SPEC, SERVO_IDS)
    conv = TickConverter(SPEC, cal)
    q = np.array([0.5, -1.0, 1.2, 0.0, -2.5, 1.0])
    assert np.allclose(conv.to_radians(conv.to_ticks(q)), q, atol=2 * math.pi / 4096)
    # arm joints: mid-range is 0 rad, 4096 ticks per turn
    assert conv.to_ticks(np.zeros(6))[0] == 2048
    assert conv.to_ticks(np.array([math.pi / 2, 0, 0, 0, 0, 0]))[0] == 2048 + 1024
    # the gripper spans its calibrated range linearly
    g = cal.motors["gripper"]
    t = conv.to_ticks(np.array([0, 0, 0, 0, 0, SPEC.joints[5].upper]))
    assert t[5] == g.range_max


# -- the bus against the simulated servos -------------------------------------------------------
def test_ping_read_write_sync(bus, sim):
    assert [bus.ping(i) for i in IDS] == [p.MODEL_STS3215] * 6
    bus.write(3, p.Reg.TORQUE_ENABLE, 1)
    bus.sync_write(p.Reg.GOAL_POSITION, {3: 2100})
    bus.ping(3)  # no reply to a sync write: a round trip after it means it was processed
    assert sim.servos[3].table[42:44] == (2100).to_bytes(2, "little")
    feedback = bus.sync_read(p.FEEDBACK_ADDR, p.FEEDBACK_SIZE, IDS)
    assert sorted(feedback) == IDS and all(len(v) == 6 for v in feedback.values())
    sync_reads = sim.sent(p.Inst.SYNC_READ)
    assert sync_reads[-1].servo_id == p.BROADCAST_ID
    assert sync_reads[-1].params == bytes([56, 6, *IDS])


@pytest.mark.parametrize("fault", ["no_reply", "bad_checksum"])
def test_transient_fault_is_retried(bus, sim, fault):
    sim.inject(4, fault, count=2)
    assert bus.read(4, p.Reg.MODEL_NUMBER) == p.MODEL_STS3215
    assert bus.stats["retries"] == 2
    sim.inject(4, fault, count=1)
    assert sorted(bus.sync_read(56, 2, IDS)) == IDS  # only servo 4 is asked again
    assert sim.sent(p.Inst.SYNC_READ)[-1].params == bytes([56, 2, 4])


@pytest.mark.parametrize("fault", ["no_reply", "bad_checksum"])
def test_persistent_fault_names_the_joint(bus, sim, fault):
    sim.inject(4, fault)
    with pytest.raises(NoReplyError, match=r"servo 4 \(wrist_flex\)") as info:
        bus.sync_read(56, 6, IDS)
    assert info.value.servo_id == 4
    with pytest.raises(NoReplyError, match="after 3 tries"):
        bus.ping(4)


@pytest.mark.parametrize(
    "bit, word",
    [(p.ErrorBit.OVERLOAD, "overload"), (p.ErrorBit.OVERHEAT, "overheat"),
     (p.ErrorBit.VOLTAGE, "voltage")],
)  # fmt: skip
def test_error_bits_are_not_retried(bus, sim, bit, word):
    sim.set_error(2, bit)
    with pytest.raises(ServoFaultError, match=rf"servo 2 \(shoulder_lift\) reports {word}"):
        bus.sync_read(56, 6, IDS)
    assert bus.stats["retries"] == 0


# -- the driver -----------------------------------------------------------------------------------
def _sim_of(robot):
    return robot.sensors["servos"]._owned[0]


def test_driver_lifecycle_on_fake_bus():
    robot = make_hardware(SPEC, fake=True)
    sim = _sim_of(robot)
    with robot:
        q0 = robot.read_joints().position
        assert np.allclose(q0, SPEC.defaults, atol=0.01)
        assert not any(s.torque for s in sim.servos.values())
        # connect configured the servos like LeRobot does
        assert all(s.table[p.Reg.P_COEFFICIENT.addr] == 16 for s in sim.servos.values())
        robot.enable()
        assert all(s.torque for s in sim.servos.values())
        assert all(s.table[p.Reg.LOCK.addr] == 1 for s in sim.servos.values())
        target = np.array([0.3, -0.4, 0.5, 0.2, -0.1, 0.8], np.float32)
        robot.write(target)
        robot.read_joints()  # a round trip: the sync write before it has been processed
        conv = robot.sensors["servos"].convert
        goal = sim.sent(p.Inst.SYNC_WRITE)[-1]
        assert goal.params[:2] == bytes([42, 2])
        expected = b"".join(
            bytes([i]) + int(t).to_bytes(2, "little") for i, t in zip(IDS, conv.to_ticks(target))
        )
        assert goal.params[2:] == expected
        for _ in range(200):
            state = robot.read_joints()
            if np.allclose(state.position, target, atol=0.01):
                break
            time.sleep(0.01)
        assert np.allclose(state.position, target, atol=0.01)
        # out-of-limit commands are clipped to the spec's limits before conversion
        robot.write(np.array([5.0, 0, 0, 0, 0, 0], np.float32))
        robot.read_joints()
        last = sim.sent(p.Inst.SYNC_WRITE)[-1].params
        assert int.from_bytes(last[3:5], "little") == conv.to_ticks([SPEC.joints[0].upper] * 6)[0]
        robot.safe_stop()
        assert not any(s.torque for s in sim.servos.values())
        assert all(s.table[p.Reg.LOCK.addr] == 0 for s in sim.servos.values())
    assert sim.port == "" or sim._master == -1


def test_connect_writes_calibration_unlocked(tmp_path):
    cal = Calibration.default_for(SPEC, SERVO_IDS)
    motors = dict(cal.motors)
    motors["elbow_flex"] = MotorCalibration(3, 0, -120, 900, 3100)
    path = Calibration(motors).save(tmp_path / "so101.json")
    servos = make_servos(SPEC, fake=True, calibration=str(path))
    sim = servos._owned[0]
    with servos:
        flash = sim.servos[3].flash
        assert p.decode(p.Reg.HOMING_OFFSET, flash[31:33]) == -120
        assert p.decode(p.Reg.MIN_POSITION_LIMIT, flash[9:11]) == 900
        assert p.decode(p.Reg.MAX_POSITION_LIMIT, flash[11:13]) == 3100
    writes = [pk for pk in sim.sent(p.Inst.WRITE) if pk.servo_id == 3]
    unlock = next(k for k, pk in enumerate(writes) if pk.params[0] == p.Reg.LOCK.addr)
    homing = next(k for k, pk in enumerate(writes) if pk.params[0] == p.Reg.HOMING_OFFSET.addr)
    assert unlock < homing


def test_missing_calibration_names_the_command(tmp_path):
    with pytest.raises(SpecError, match="groot calibrate so101"):
        make_servos(SPEC, port="/dev/null", calibration=str(tmp_path / "none.json"))


@pytest.mark.parametrize(
    "inject, match",
    [
        (lambda s: s.inject(3, "no_reply"), r"servo 3 \(elbow_flex\): no reply"),
        (lambda s: s.inject(3, "bad_checksum"), r"servo 3 \(elbow_flex\): corrupted"),
        (lambda s: s.set_error(3, p.ErrorBit.OVERHEAT), r"servo 3 \(elbow_flex\) reports overheat"),
    ],
)
def test_fault_while_active_ends_torque_off(inject, match):
    robot = make_hardware(SPEC, fake=True, timeout_s=0.05)
    sim = _sim_of(robot)
    servos = robot.sensors["servos"]
    with robot:
        robot.enable()
        robot.write(np.array(SPEC.defaults, np.float32))
        inject(sim)
        with pytest.raises(HardwareError, match=match):
            robot.read_joints()
        assert servos.state is State.ERROR
        errors = robot.safe_stop()
        # the broadcast reaches every servo, even one whose replies are lost
        assert not any(s.torque for s in sim.servos.values())
        if "reply" in match or "corrupted" in match:
            assert errors and "elbow_flex" in errors[0]
        else:
            assert errors == [] and servos.state is State.INACTIVE


def test_record_calibration_procedure(sim, bus):
    shafts = {1: 2500, 2: 1800, 3: 2048, 4: 3000, 5: 1000, 6: 2200}
    for i, a in shafts.items():
        sim.move_shaft(i, a)
    sweeps = iter(range(6))

    def done():
        k = next(sweeps, None)
        if k is None:
            return True
        for i, a in shafts.items():  # the user sweeps every joint +-400 ticks
            sim.move_shaft(i, a + (400 if k % 2 else -400) * (k + 1) / 6)
        return False

    cal = record_calibration(bus, SERVO_IDS, centred=lambda: None, done=done, period_s=0)
    for name, i in SERVO_IDS.items():
        m = cal.motors[name]
        assert m.homing_offset == shafts[i] - 2047
        if name == "wrist_roll":
            assert (m.range_min, m.range_max) == (0, 4095)
        else:
            assert m.range_min == pytest.approx(2047 - 400 * 5 / 6, abs=2)
            assert m.range_max == pytest.approx(2047 + 400, abs=2)
        flash = sim.servos[i].flash
        assert p.decode(p.Reg.HOMING_OFFSET, flash[31:33]) == m.homing_offset
    # what the servo now reports is the calibrated frame: centre -> 2047
    for i, a in shafts.items():
        sim.move_shaft(i, a)
    assert all(bus.read(i, p.Reg.PRESENT_POSITION) == 2047 for i in IDS)
