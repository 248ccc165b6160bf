"""G1 + Inspire drivers: LowCmd/LowState packing and Unitree's CRC everywhere; the body over
loopback DDS where Unitree's SDK and CycloneDDS install; the hands against a pymodbus server."""

import importlib.util
import struct
import time

import numpy as np
import pytest
from groot_sdk_g1_inspire.dds.messages import (
    LOWCMD_SIZE,
    LOWSTATE_SIZE,
    NUM_MOTORS,
    LowCmd,
    LowState,
    crc32_words,
)
from groot_sdk_g1_inspire.spec import SPEC

from groot_sdk.errors import HardwareError
from groot_sdk.hardware import JointCommand, State

HAVE_DDS = importlib.util.find_spec("cyclonedds") is not None
NO_DDS = "CycloneDDS is not installed (extra 'dds')"
HAVE_SDK = HAVE_DDS and importlib.util.find_spec("unitree_sdk2py") is not None
NO_SDK = "Unitree's SDK (unitree-sdk2py-dimos, extra 'dds') is not installed"


# -- packing and CRC: run everywhere -----------------------------------------------------------------
def test_crc_test_vector_all_zero_lowcmd():
    assert LOWCMD_SIZE == 1004 and LOWSTATE_SIZE == 2092
    packed = LowCmd().pack()
    assert struct.unpack("<I", packed[-4:])[0] == 0xFE172F9F
    assert LowCmd().crc == 4262932383


def test_crc_is_msb_first_poly_04c11db7():
    # one word 0x00000001 fed MSB first from 0xFFFFFFFF, computed bit by bit here
    crc = 0xFFFFFFFF
    for bit in range(32):
        top = (crc >> 31) ^ ((1 >> (31 - bit)) & 1)
        crc = ((crc << 1) & 0xFFFFFFFF) ^ (0x04C11DB7 if top else 0)
    assert crc32_words((1).to_bytes(4, "little")) == crc
    with pytest.raises(ValueError, match="whole 32-bit words"):
        crc32_words(b"abc")


def test_lowcmd_layout_and_roundtrip():
    cmd = LowCmd(mode_pr=0, mode_machine=5)
    cmd.mode[:29] = 1
    cmd.q[3] = 1.25
    cmd.kp[3], cmd.kd[3] = 100.0, 2.0
    packed = cmd.pack()
    # header: mode_pr, mode_machine, 2 pad bytes; motor k at 4 + 28 k: mode, 3 pad, q dq tau kp kd
    assert packed[:4] == b"\x00\x05\x00\x00"
    m3 = 4 + 28 * 3
    assert packed[m3] == 1
    assert struct.unpack_from("<5f", packed, m3 + 4) == (1.25, 0.0, 0.0, 100.0, 2.0)
    back, crc = LowCmd.unpack(packed)
    assert crc == cmd.crc and back.q[3] == np.float32(1.25) and back.mode_machine == 5
    # any change to the command changes the CRC
    cmd.q[28] = 1e-3
    assert cmd.crc != crc
    state = LowState(mode_machine=5, tick=7)
    assert len(state.pack()) == LOWSTATE_SIZE


@pytest.mark.skipif(not HAVE_SDK, reason=NO_SDK)
def test_crc_matches_unitree_sdk():
    """The message the driver sends, CRC'd by Unitree's own CRC (``unitree_sdk2py.utils.crc``
    with the SDK's shipped ``crc_amd64.so``, unitree-sdk2py-dimos 1.0.3), equals the crc field
    it carries, ``reserve`` included: a field packed into our CRC but not sent makes the robot
    drop every command."""
    from groot_sdk_g1_inspire.dds.channel import to_sdk
    from unitree_sdk2py.utils.crc import CRC

    rng = np.random.default_rng(0)
    for k in range(5):
        cmd = LowCmd(mode_machine=5)
        cmd.mode[:] = rng.integers(0, 2, NUM_MOTORS)
        for arr in (cmd.q, cmd.dq, cmd.tau, cmd.kp, cmd.kd):
            arr[:] = rng.normal(size=NUM_MOTORS)
        if k:
            cmd.reserve = tuple(int(r) for r in rng.integers(0, 2**32, 4, dtype=np.uint64))
        msg = to_sdk(cmd)
        assert list(msg.reserve) == list(cmd.reserve)
        assert msg.crc == cmd.crc == CRC().Crc(msg)
        back = LowCmd.from_msg(msg)
        assert back.reserve == cmd.reserve and back.crc == cmd.crc


@pytest.mark.skipif(not HAVE_DDS, reason=NO_DDS)
def test_message_types_hash_as_cyclonedds_010_does():
    """The XTypes type identifiers of the driver's LowCmd_/LowState_ are those that
    CycloneDDS 0.10.2 advertises for Unitree's SDK types (measured from its discovery traffic,
    cyclonedds 0.10.2 + unitree-sdk2py-dimos 1.0.3). With the SDK's own types, CycloneDDS 11
    advertises others (uint8 as TK_UINT8, where 0.10 says TK_BYTE) and never matches a 0.10
    robot. test_dds_interop checks the same against a live 0.10 interpreter."""
    from groot_sdk_g1_inspire.dds import idl

    def ids(t):
        info = t.__idl__.get_type_info()
        return [
            bytes(w.typeid_with_size.type_id.value).hex() for w in (info.minimal, info.complete)
        ]

    assert ids(idl.LowCmd_) == ["6569fc15f0d47aa8600b9e91fbbc", "42b0283aa7e1bb592ec898a0dbed"]
    assert ids(idl.LowState_) == ["2f38296b52aa0230b92d378b1e39", "2be9706c9587e8d8afd8bfc6de7b"]


# -- the body over loopback DDS ------------------------------------------------------------------------
@pytest.fixture
def g1():
    if not HAVE_DDS:
        pytest.skip(NO_DDS)
    from groot_sdk_g1_inspire.driver import make_hardware

    robot = make_hardware(SPEC, fake=True, rate_hz=100)
    robot.connect()
    body = robot.sensors["body"]
    yield robot, body, body._owned[0]
    robot.close()


def _eventually(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def test_body_over_dds(g1):
    robot, _, sim = g1
    # INACTIVE is damping; mode_machine comes from the first LowState
    assert _eventually(lambda: len(sim.commands) > 3)
    first = sim.commands[-1]
    assert first.mode_machine == 5 and first.kp[:29].max() == 0 and first.kd[:29].min() > 0
    robot.enable()
    target = np.array(SPEC.defaults, np.float32)
    target[3], target[18] = 0.6, 0.8  # left knee, left elbow
    for _ in range(100):
        robot.write(target)
        state = robot.read_joints()
        if abs(state.position[3] - 0.6) < 0.02 and abs(state.position[18] - 0.8) < 0.02:
            break
        time.sleep(0.02)
    assert state.position[3] == pytest.approx(0.6, abs=0.02)
    last = sim.commands[-1]
    assert last.q[3] == pytest.approx(0.6) and last.kp[3] == 100 and last.mode[:29].all()
    assert sim.bad_crc == 0  # every command carried Unitree's CRC
    imu = robot.imu().read()
    assert imu.quaternion[0] == pytest.approx(1.0)
    assert robot.safe_stop() == []
    assert _eventually(lambda: sim.command.kp[:29].max() == 0 and sim.command.kd[:29].min() > 0)


def test_lost_lowstate_raises_then_damps(g1):
    robot, body, sim = g1
    robot.enable()
    robot.read_joints()
    sim.silent.set()
    time.sleep(0.7)
    with pytest.raises(HardwareError, match="no LowState for"):
        robot.read_joints()
    assert body.state is State.ERROR
    robot.safe_stop()
    assert _eventually(lambda: sim.command.kp[:29].max() == 0)


def test_motor_error_names_the_joint(g1):
    robot, _, sim = g1
    robot.enable()
    sim.set_motor_error(20, 0x2)
    with pytest.raises(HardwareError, match=r"left_wrist_pitch_joint \(motor 20\): 0x2"):
        for _ in range(50):
            robot.read_joints()
            time.sleep(0.01)
    robot.safe_stop()
    assert _eventually(lambda: sim.command.kp[:29].max() == 0)


def test_body_needs_a_lowstate_to_connect():
    if not HAVE_DDS:
        pytest.skip(NO_DDS)
    import os

    from groot_sdk_g1_inspire.dds.channel import G1LowLevel
    from groot_sdk_g1_inspire.driver import G1Body

    body = G1Body(SPEC, G1LowLevel(100 + os.getpid() % 100, "lo"), first_state_timeout_s=0.3)
    with pytest.raises(HardwareError, match="no LowState on rt/lowstate within 0.3 s"):
        body.connect()


# -- the hands over Modbus TCP ---------------------------------------------------------------------
pymodbus = pytest.importorskip("pymodbus", reason="pymodbus (extra 'modbus') is needed")


@pytest.fixture
def hand():
    from groot_sdk_g1_inspire.driver import InspireHand
    from groot_sdk_g1_inspire.inspire.client import InspireClient
    from groot_sdk_g1_inspire.inspire.sim import SimulatedInspireHand

    sim = SimulatedInspireHand().start()
    h = InspireHand(SPEC, "R", InspireClient("127.0.0.1", sim.port, name="right", timeout_s=0.3),
                    speed=800, force=300, error_poll_every=1, owned=[sim])  # fmt: skip
    h.connect()
    yield h, sim
    h.close()


def test_hand_registers_and_joint_mapping(hand):
    from groot_sdk_g1_inspire.inspire import registers as reg

    h, sim = hand
    assert (reg.SPEED_SET, [800] * 6) in sim.writes and (reg.FORCE_SET, [300] * 6) in sim.writes
    assert len(h.joint_names) == 12 and h.joint_names[0] == "R_index_proximal_joint"
    state = h.read()  # open hand: every register at 1000
    spec = {j.name: j for j in SPEC.joints}
    assert state.position[h.joint_names.index("R_index_proximal_joint")] == pytest.approx(0)
    yaw = spec["R_thumb_proximal_yaw_joint"]
    assert state.position[h.joint_names.index("R_thumb_proximal_yaw_joint")] == pytest.approx(
        yaw.lower
    )
    h.enable()
    q = np.zeros(12, np.float32)
    names = list(h.joint_names)
    q[names.index("R_index_proximal_joint")] = 0.85  # half of 1.7
    q[names.index("R_pinky_proximal_joint")] = 1.7  # closed
    q[names.index("R_thumb_proximal_pitch_joint")] = 0.25
    q[names.index("R_thumb_proximal_yaw_joint")] = 1.3
    q[names.index("R_index_intermediate_joint")] = 1.5  # a follower: ignored
    h.write(JointCommand(q))
    address, values = sim.writes[-1]
    # register order pinky, ring, middle, index, thumb_bend, thumb_rotation; 1000 = open
    assert (address, values) == (reg.ANGLE_SET, [0, 1000, 1000, 500, 500, 0])
    # the simulated fingers move when the hand is polled, as the driver does every cycle
    assert _eventually(lambda: h.read() is not None and sim.angle == [0, 1000, 1000, 500, 500, 0])
    state = h.read()
    pos = dict(zip(names, state.position))
    assert pos["R_index_proximal_joint"] == pytest.approx(0.85, abs=1e-3)
    assert pos["R_index_intermediate_joint"] == pytest.approx(0.85 * 1.13, abs=1e-3)
    assert pos["R_thumb_distal_joint"] == pytest.approx(0.25 * 1.13, abs=1e-3)
    # the safe state stops the fingers where they are
    h.write(JointCommand(np.zeros(12, np.float32)))
    h.disable()
    address, values = sim.writes[-1]
    assert address == reg.ANGLE_SET and values == [round(a) for a in sim.angle]


def test_hand_error_bits_name_the_finger(hand):
    h, sim = hand
    h.enable()
    sim.errors[3] = 2  # index over-temperature
    with pytest.raises(HardwareError, match=r"right_hand \(127.0.0.1\): index: over-temperature"):
        h.read()
    assert h.state is State.ERROR
    h.disable()
    assert h.state is State.INACTIVE


def test_silent_hand_is_retried_then_named(hand):
    h, sim = hand
    h.enable()
    sim.silent = True
    with pytest.raises(
        HardwareError, match=r"right hand \(127.0.0.1:\d+\): read \d at \d+ failed after 3 tries"
    ):
        h.read()
    assert h.client.stats["retries"] == 2


def test_out_of_range_write_is_rejected_by_the_server():
    from groot_sdk_g1_inspire.inspire.client import InspireClient, InspireError
    from groot_sdk_g1_inspire.inspire.sim import SimulatedInspireHand

    with SimulatedInspireHand() as sim:
        c = InspireClient("127.0.0.1", sim.port, name="left")
        c.open()
        with pytest.raises(InspireError, match="angles must be 6 values in 0..1000"):
            c.set_angles([0, 0, 0, 0, 0, 1001])
        with pytest.raises(InspireError, match="left hand .*write 6 at 1486"):
            c.write(1486, [0, 0, 0, 0, 0, 2000])  # the hand answers with an exception
        c.close()
