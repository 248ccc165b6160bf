"""The BHL driver against simulated Recoil controllers on python-can's virtual bus, and the
IMU against a simulated one on a pty: every frame is checked against the protocol."""

import math
import struct
import time

import numpy as np
import pytest

pytest.importorskip("can", reason="python-can (extra 'can') is needed for the Recoil buses")
pytest.importorskip("serial", reason="pyserial (extra 'can') is needed for the IMU")

from groot_sdk_bhl.driver import make_hardware, make_joints
from groot_sdk_bhl.imu import ImuParser, SerialImu, SimulatedImu, wit_frame
from groot_sdk_bhl.recoil import protocol as rp
from groot_sdk_bhl.recoil.calibration import DIRECTIONS
from groot_sdk_bhl.spec import CAN_MAP, SPEC

from groot_sdk.errors import HardwareError, SpecError
from groot_sdk.hardware import State

F = rp.Function
DLC = {F.NMT: 2, F.RECEIVE_PDO_1: 1, F.RECEIVE_PDO_2: 8, F.HEARTBEAT: 0}


def _devices(bus_index):
    return {d: n for n, (b, d) in CAN_MAP.items() if b == bus_index}


def test_frame_layout():
    assert rp.cob_id(F.RECEIVE_PDO_2, 5) == 0x305 and rp.cob_id(F.TRANSMIT_PDO_2, 5) == 0x285
    assert rp.nmt(7, rp.Mode.POSITION) == rp.Frame(0x007, b"\x13\x07")
    assert rp.pdo2_command(3, 1.5, -2.0).data == struct.pack("<ff", 1.5, -2.0)
    assert rp.sdo_read(1, rp.Param.ERROR).data == b"\x40\x14\x00"
    w = rp.sdo_write(1, rp.Param.TORQUE_LIMIT, 6.0)
    assert w.arbitration_id == 0x601 and w.data == b"\x20\x30\x00\x00" + struct.pack("<f", 6.0)
    assert rp.heartbeat(14) == rp.Frame(0x70E, b"")
    with pytest.raises(ValueError, match="device id 128"):
        rp.cob_id(F.NMT, 128)


def _check_frame(frame, devices):
    """One frame from the driver: a known function, a device on this bus, the right DLC."""
    function, device = rp.split_id(frame.arbitration_id)
    assert device in devices, f"frame for device {device} not on this bus"
    assert function in (*DLC, F.RECEIVE_SDO), hex(frame.arbitration_id)
    if function in DLC:
        assert len(frame.data) == DLC[function], frame
    if function == F.NMT:
        assert frame.data[1] == device and frame.data[0] in set(rp.Mode)
    if function == F.RECEIVE_PDO_1:
        assert frame.data == bytes([rp.PING_MAGIC])
    if function == F.RECEIVE_SDO:
        assert (frame.data[0], len(frame.data)) in ((rp.SDO_READ, 3), (rp.SDO_WRITE, 8)), frame


def _service_sequence(frames, device):
    """Non-PDO frames to ``device`` as readable tokens (periodic ERROR polls dropped)."""
    out = []
    for f in frames:
        function, d = rp.split_id(f.arbitration_id)
        if d != device or function == F.RECEIVE_PDO_2:
            continue
        if function == F.NMT:
            out.append(rp.Mode(f.data[0]).name)
        elif function == F.RECEIVE_PDO_1:
            out.append("PING")
        elif function == F.HEARTBEAT:
            out.append("HEARTBEAT")
        elif function == F.RECEIVE_SDO:
            param = rp.Param(int.from_bytes(f.data[1:3], "little"))
            op = "READ" if f.data[0] == rp.SDO_READ else "WRITE"
            out.append(f"{op} {param.name}")
    return out


def _eventually(predicate, timeout=2.0):
    """NMT frames get no reply: wait until the simulated controllers have handled them."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return predicate()


def _collapse(seq):
    out = []
    for x in seq:
        if not out or not np.array_equal(out[-1], x):
            out.append(x)
    return out


def test_startup_and_two_seconds_of_position_control():
    robot = make_hardware(SPEC, fake=True, startup_s=0.5, rate_hz=100.0, error_poll_every=5)
    joints = robot.sensors["joints"]
    sims = [o for o in joints._owned if hasattr(o, "controllers")]
    sent = []  #: joint-frame target of every exchange, in order
    with robot:
        q_start = robot.read_joints().position.astype(np.float64)
        sent.append(joints._target.copy())
        robot.enable()
        assert all(c.mode == rp.Mode.POSITION for s in sims for c in s.controllers.values())
        q_default = np.array(SPEC.defaults)
        assert np.allclose(joints._target, q_default)
        t0 = time.monotonic()
        period, next_due, k = 0.01, time.monotonic(), 0
        while time.monotonic() - t0 < 2.0:
            phase = 2 * math.pi * 0.5 * k * period
            cmd = q_default + 0.1 * math.sin(phase) * np.ones(SPEC.dof)
            cmd = np.clip(cmd, SPEC.lower, SPEC.upper)
            robot.write(cmd.astype(np.float32))
            sent.append(cmd.astype(np.float32).astype(np.float64))
            state = robot.read_joints()
            k += 1
            next_due += period
            time.sleep(max(0.0, next_due - time.monotonic()))
        assert k >= 100
        assert np.abs(state.position - cmd).max() < 0.05  # the controllers track
        errors = robot.safe_stop()
        assert errors == []
        assert _eventually(lambda: _modes(sims) == {rp.Mode.DAMPING})
    dirs, offs = np.array(DIRECTIONS, float), np.zeros(SPEC.dof)
    for b, sim in enumerate(sims):
        frames = sim.frames()
        devices = _devices(b)
        for f in frames:
            _check_frame(f, devices)
        for device, name in devices.items():
            j = SPEC.joint_names.index(name)
            seq = _service_sequence(frames, device)
            assert seq[0] == "PING" and seq[1] == "READ ERROR", (name, seq[:3])
            kp = 20.0 if name.startswith("leg_") else 10.0
            limit = SPEC.joints[j].effort_limit
            assert seq[2:13] == [
                "IDLE",
                "WRITE POSITION_KP", "WRITE VELOCITY_KP", "WRITE TORQUE_LIMIT",
                "READ POSITION_KP", "READ VELOCITY_KP", "READ TORQUE_LIMIT",
                "HEARTBEAT", "DAMPING", "READ POSITION_MEASURED", "HEARTBEAT",
            ], name  # fmt: skip
            rest = [s for s in seq[13:] if s != "READ ERROR"]
            assert rest == ["POSITION", "DAMPING", "IDLE"], (name, rest)
            writes = {
                int.from_bytes(f.data[1:3], "little"): struct.unpack("<f", f.data[4:8])[0]
                for f in frames
                if f.arbitration_id == rp.cob_id(F.RECEIVE_SDO, device) and f.data[0] == 0x20
            }
            assert writes == {
                rp.Param.POSITION_KP: kp,
                rp.Param.VELOCITY_KP: 2.0,
                rp.Param.TORQUE_LIMIT: pytest.approx(limit),
            }
            # every PDO 2 command carries (q + offset) * direction, velocity 0
            pdo = [
                struct.unpack("<ff", f.data)
                for f in frames
                if f.arbitration_id == rp.cob_id(F.RECEIVE_PDO_2, device)
            ]
            assert all(v == 0.0 for _, v in pdo)
            motor = np.array([p for p, _ in pdo], np.float32)
            got = _collapse([np.float32(x) for x in motor])
            # the interpolation: start -> default in startup_s * rate_hz equal steps
            steps = 50
            ramp = [
                np.float32(
                    (q_start[j] + (q_default[j] - q_start[j]) * i / steps + offs[j]) * dirs[j]
                )
                for i in range(steps + 1)
            ]
            control = [np.float32((t[j] + offs[j]) * dirs[j]) for t in sent[1:]]
            expected = _collapse([*ramp, *control])
            assert np.allclose(got, expected, atol=1e-6), name


@pytest.fixture
def active():
    robot = make_hardware(SPEC, fake=True, startup_s=0.05, rate_hz=100.0, error_poll_every=1)
    joints = robot.sensors["joints"]
    sims = [o for o in joints._owned if hasattr(o, "controllers")]
    robot.connect()
    robot.enable()
    yield robot, joints, sims
    robot.close()


def _modes(sims):
    return {c.mode for s in sims for c in s.controllers.values()}


def test_missing_feedback_is_retried_then_named(active):
    robot, joints, sims = active
    knee = CAN_MAP["leg_left_knee_pitch_joint"]
    sims[knee[0]].inject(knee[1], "missing_feedback", count=1)
    robot.read_joints()
    assert joints.buses[knee[0]].stats["retries"] >= 1
    sims[knee[0]].inject(knee[1], "missing_feedback")
    with pytest.raises(HardwareError, match=r"leg_left_knee_pitch_joint \(device 7 on left_leg"):
        robot.read_joints()
    assert joints.state is State.ERROR
    assert robot.safe_stop() == []
    assert _eventually(lambda: _modes(sims) == {rp.Mode.DAMPING})
    robot.close()
    assert _eventually(lambda: _modes(sims) == {rp.Mode.IDLE})


def test_error_flags_stop_in_damping(active):
    robot, _, sims = active
    b, d = CAN_MAP["arm_right_elbow_pitch_joint"]
    sims[b].set_error(d, rp.ErrorBit.OVER_TEMPERATURE)
    with pytest.raises(HardwareError, match=r"arm_right_elbow_pitch_joint .* over_temperature"):
        for _ in range(10):  # the round-robin poll reaches it within 5 cycles
            robot.read_joints()
    assert robot.safe_stop() == []
    assert _eventually(lambda: _modes(sims) == {rp.Mode.DAMPING})


def test_bus_errors_retried_then_named(active):
    robot, joints, sims = active
    b, d = CAN_MAP["leg_right_hip_yaw_joint"]
    sims[b].inject(d, "bus_error", count=1)
    robot.read_joints()
    assert joints.buses[b].stats["error_frames"] == 1
    sims[b].inject(d, "bus_error")
    with pytest.raises(HardwareError, match=r"leg_right_hip_yaw_joint .*error frames"):
        robot.write(np.array(SPEC.defaults, np.float32))
    robot.safe_stop()
    assert _eventually(lambda: _modes(sims) == {rp.Mode.DAMPING})


def test_watchdog_drops_a_silent_controller_to_damping(active):
    robot, _, sims = active
    for s in sims:
        for c in s.controllers.values():
            c.params[rp.Param.WATCHDOG_TIMEOUT] = 50
    time.sleep(0.2)  # the policy went quiet
    with pytest.raises(HardwareError, match="watchdog_timeout"):
        for _ in range(10):
            robot.read_joints()


def test_connect_names_a_controller_that_does_not_answer():
    joints = make_joints(SPEC, fake=True, retries=1)
    b, d = CAN_MAP["arm_left_shoulder_yaw_joint"]
    sim = joints._owned[b]
    del sim.controllers[d]
    with pytest.raises(HardwareError, match=r"ping from arm_left_shoulder_yaw_joint \(device 5"):
        joints.connect()
    joints.close()


def test_calibration_file_sets_direction_and_offset(tmp_path):
    path = tmp_path / "bhl.json"
    path.write_text('{"directions": {"leg_left_knee_pitch_joint": 1}, '
                    '"offsets": {"leg_left_knee_pitch_joint": 0.25}}')  # fmt: skip
    joints = make_joints(SPEC, fake=True, calibration=str(path))
    k = SPEC.joint_names.index("leg_left_knee_pitch_joint")
    b, d = CAN_MAP["leg_left_knee_pitch_joint"]
    with joints:
        q = joints.read().position[k]
        motor = joints._owned[b].controllers[d].position
        assert q == pytest.approx(motor * 1 - 0.25, abs=1e-3)
    bad = tmp_path / "bad.json"
    bad.write_text('{"directions": {"no_such_joint": 1}}')
    with pytest.raises(SpecError, match="unknown joint 'no_such_joint'"):
        make_joints(SPEC, fake=True, calibration=str(bad))


# -- IMU --------------------------------------------------------------------------------------------
def test_wit_frames_parse_and_checksum():
    parser = ImuParser("wit")
    good = wit_frame(0x59, (32767, 0, 0, 0))
    bad = bytearray(wit_frame(0x52, (100, 0, 0, 0)))
    bad[-1] ^= 1
    parser.feed(b"\x00\x55" + bytes(bad) + good + wit_frame(0x52, (1638, 0, -1638, 0)), 1.0)
    assert parser.bad >= 1 and parser.stamp == 1.0
    assert parser.quat[0] == pytest.approx(1.0, abs=1e-4)
    assert parser.gyro[0] == pytest.approx(math.radians(1638 * 2000 / 32768), rel=1e-5)
    assert parser.gyro[2] < 0


@pytest.mark.parametrize("protocol", ["wit", "bno085"])
def test_imu_reads_simulated_device(protocol):
    with SimulatedImu(protocol) as sim:
        sim.quat = (math.cos(0.2), math.sin(0.2), 0.0, 0.0)
        sim.gyro = (0.5, 0.0, -0.25)
        with SerialImu("imu", sim.port, protocol=protocol) as imu:
            time.sleep(0.05)
            r = imu.read()
            assert r.quaternion == pytest.approx([math.cos(0.2), math.sin(0.2), 0, 0], abs=1e-3)
            assert r.gyro == pytest.approx([0.5, 0, -0.25], abs=2e-3)
            if protocol == "wit":
                assert r.accel == pytest.approx([0, 0, 9.80665], abs=1e-3)
            sim.corrupt = 5
            time.sleep(0.1)
            assert imu.read() is not None and imu.parser.bad >= 1
            sim.stall()
            time.sleep(0.25)
            with pytest.raises(HardwareError, match=r"IMU 'imu' on .*: no valid frame for"):
                imu.read()
            assert imu.state is State.ERROR


def test_imu_that_never_speaks_fails_connect():
    with SimulatedImu() as sim:
        sim.stall()
        imu = SerialImu("imu", sim.port, open_timeout_s=0.2)
        with pytest.raises(HardwareError, match="no valid wit frame within 0.2 s"):
            imu.connect()


def test_groot_calibrate_bhl_offsets_from_the_pose(tmp_path):
    from click.testing import CliRunner
    from groot_sdk_bhl.recoil.calibration import LEG_CALIBRATION_POSE_DEG, JointCalibration
    from groot_sdk_bhl.recoil.sim import SimulatedRecoilBus

    from groot_sdk.cli.main import cli

    true_offsets = np.linspace(-0.2, 0.2, SPEC.dof)
    dirs = np.array(DIRECTIONS, float)
    pose = np.array([math.radians(LEG_CALIBRATION_POSE_DEG.get(n, 0.0)) for n in SPEC.joint_names])
    motor = (pose + true_offsets) * dirs  # what the encoders read in the calibration pose
    channels = [f"calib-{k}" for k in range(4)]
    sims = []
    for b, channel in enumerate(channels):
        positions = {
            d: motor[SPEC.joint_names.index(n)] for n, (bi, d) in CAN_MAP.items() if bi == b
        }
        sims.append(SimulatedRecoilBus(channel, positions).start())
    out = tmp_path / "bhl.json"
    try:
        result = CliRunner().invoke(
            cli,
            ["calibrate", "bhl", "--can", ",".join(channels), "--hw", "interface=virtual",
             "--yes", "-o", str(out)],
        )  # fmt: skip
    finally:
        for s in sims:
            s.stop()
    assert result.exit_code == 0, result.output
    cal = JointCalibration.load(out, SPEC)
    assert np.allclose(cal.offsets, true_offsets, atol=1e-5)
    assert all(c.mode == rp.Mode.IDLE for s in sims for c in s.controllers.values())
    # the driver then reads the pose back as the pose
    joints = make_joints(SPEC, fake=True, calibration=str(out))
    with joints:
        for k, (b, d) in enumerate(joints.where):
            joints._owned[b].controllers[d].position = motor[k]
        assert np.allclose(joints.read().position, pose, atol=1e-3)
