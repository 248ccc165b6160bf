"""The simulated Recoil controllers against the counterparts' published code, not our own
protocol module (python-can's ``virtual`` bus).

Stand-ins, written here from published source (facts only, no code copied):

* ``LowlevelBus``: the Berkeley Humanoid Lite low-level ``Bus`` class
  (HybridRobotics/Berkeley-Humanoid-Lite-Lowlevel, ``berkeley_humanoid_lite_lowlevel/recoil/
  core.py``, commit 8b7f077): the frames it sends and its unpacking rules (``ping`` unpacks
  ``<BBBBBBBB``; parameter reads ``<f``/``<L`` of bytes 0..3; ``receive_pdo_2`` ``<ff`` of
  bytes 0..8; a received frame's DLC must equal its data length and be <= 8). The only
  deviation: PDO timeouts are longer than the published 1 ms (a thread, not a controller).
* the C++ client's ping (same repo, ``csrc/motor_controller.cpp``): DLC 0.
* the firmware's answers (uncertainty-cc/Recoil-Motor-Controller, B-G431B-ESC1
  ``Core/Src/motor_controller.c``, commit c8521f5): ``MotorController_handleCANMessage``,
  ``_handleSDO``, ``_setMode``.
"""

from __future__ import annotations

import struct
import threading
import time
import uuid

import pytest

can = pytest.importorskip("can", reason="python-can (extra 'can') is needed for the Recoil buses")

from groot_sdk_bhl.recoil import protocol as rp
from groot_sdk_bhl.recoil.bus import RecoilBus
from groot_sdk_bhl.recoil.sim import SimulatedRecoilBus

pytestmark = pytest.mark.timeout(30)

# function codes and parameter ids as the published lowlevel code spells them
NMT, SYNC_EMCY, TX_PDO_1, RX_PDO_1 = 0b0000, 0b0001, 0b0011, 0b0100
TX_PDO_2, RX_PDO_2, TX_PDO_3, RX_PDO_3 = 0b0101, 0b0110, 0b0111, 0b1000
TX_SDO, RX_SDO, HEARTBEAT = 0b1011, 0b1100, 0b1110
IDLE, DAMPING, POSITION, DISABLED = 0x01, 0x02, 0x13, 0x00
P_WATCHDOG, P_MODE, P_ERROR = 0x008, 0x010, 0x014
P_KP, P_KD, P_TORQUE_LIMIT = 0x020, 0x028, 0x030
INVALID_MODE, WATCHDOG_TIMEOUT, CAN_RX_FAULT = 1 << 5, 1 << 6, 1 << 10


def _unpack(fmt: str, data: bytes) -> tuple:
    """The published ``Bus.unpack``: a short payload gives ``()``, so ``[0]`` raises."""
    try:
        return struct.unpack(fmt, data)
    except struct.error:
        return ()


class LowlevelBus:
    """The published lowlevel ``Bus``, on a virtual channel."""

    def __init__(self, channel: str) -> None:
        self.bus = can.Bus(interface="virtual", channel=channel)
        self.last: tuple[int, int, bytes] | None = None  # (function, device, data)

    def close(self) -> None:
        self.bus.shutdown()

    def transmit(self, device_id: int, function: int, data: bytes = b"") -> None:
        self.bus.send(
            can.Message(arbitration_id=(function << 7) | device_id, is_extended_id=False, data=data)
        )

    def receive(self, device_id=None, function=None, timeout=0.2):
        while True:
            msg = self.bus.recv(timeout=timeout)
            if msg is None:
                return None
            if msg.is_error_frame:
                continue
            data = bytes(msg.data)
            assert msg.dlc == len(data) and msg.dlc <= 8  # the published CANFrame asserts
            frame = (msg.arbitration_id >> 7, msg.arbitration_id & 0x7F, data)
            if device_id and frame[1] != device_id:
                continue
            if function and frame[0] != function:
                continue
            self.last = frame
            return frame

    def ping(self, device_id: int) -> bool:
        self.transmit(device_id, RX_PDO_1, b"\xca")
        frame = self.receive(device_id, TX_PDO_1)
        if frame is None:
            return False
        return _unpack("<BBBBBBBB", frame[2])[0] == 0xCA

    def set_mode(self, device_id: int, mode: int) -> None:
        self.transmit(device_id, NMT, struct.pack("<BB", mode, device_id))

    def feed(self, device_id: int) -> None:
        self.transmit(device_id, HEARTBEAT)

    def _read(self, device_id: int, param: int, fmt: str):
        self.transmit(device_id, RX_SDO, struct.pack("<BH", 0x02 << 5, param))
        frame = self.receive(device_id, TX_SDO)
        return None if frame is None else struct.unpack(fmt, frame[2][0:4])[0]

    def read_f32(self, device_id: int, param: int) -> float | None:
        return self._read(device_id, param, "<f")

    def read_u32(self, device_id: int, param: int) -> int | None:
        return self._read(device_id, param, "<L")

    def write_f32(self, device_id: int, param: int, value: float) -> None:
        self.transmit(
            device_id, RX_SDO, struct.pack("<BHB", 0x01 << 5, param, 0) + struct.pack("<f", value)
        )

    def write_u32(self, device_id: int, param: int, value: int) -> None:
        self.transmit(
            device_id, RX_SDO, struct.pack("<BHB", 0x01 << 5, param, 0) + struct.pack("<L", value)
        )

    def write_read_pdo_2(self, device_id: int, position: float, velocity: float):
        self.transmit(device_id, RX_PDO_2, struct.pack("<ff", position, velocity))
        frame = self.receive(device_id, timeout=0.2)  # published: no function filter
        return (None, None) if frame is None else struct.unpack("<ff", frame[2][0:8])


@pytest.fixture
def rig():
    """NMT frames get no reply; the simulator handles frames in order, so a parameter read's
    reply comes after every earlier frame took effect."""
    channel = f"recoil-fw-{uuid.uuid4().hex[:8]}"
    sim = SimulatedRecoilBus(channel, {1: 0.25, 2: -0.5}).start()
    client = LowlevelBus(channel)
    yield sim, client
    client.close()
    sim.stop()


def test_published_ping_unpacks_the_eight_byte_echo(rig):
    """Issue 11 item 9: the firmware answers a ping with DLC 8 (two words echoed); the
    published ``Bus.ping`` unpacks eight bytes and failed on the simulator's one."""
    _, client = rig
    assert client.ping(1) and client.ping(2)
    assert client.last == (TX_PDO_1, 2, b"\xca" + bytes(7))
    assert not client.ping(3)


def test_cpp_ping_without_payload_is_answered(rig):
    """``csrc/motor_controller.cpp`` pings with DLC 0; the firmware echoes 8 bytes anyway."""
    _, client = rig
    client.transmit(1, RX_PDO_1)
    frame = client.receive(1, TX_PDO_1)
    assert frame is not None and len(frame[2]) == 8


def test_published_startup_sequence_and_pdo_exchange(rig):
    """``Humanoid.enter_damping`` then RL start, with every reply unpacked the published way."""
    sim, client = rig
    for d in (1, 2):
        assert client.ping(d)
        client.set_mode(d, IDLE)
        client.write_f32(d, P_KP, 20.0)
        client.write_f32(d, P_KD, 2.0)
        client.write_f32(d, P_TORQUE_LIMIT, 4.0)
        client.feed(d)
        client.set_mode(d, DAMPING)
    for d in (1, 2):
        assert client.read_f32(d, P_KP) == 20.0
        assert client.read_f32(d, P_KD) == 2.0
        assert client.read_f32(d, P_TORQUE_LIMIT) == 4.0
        assert client.read_u32(d, P_MODE) == DAMPING
        assert client.read_u32(d, P_ERROR) == 0
        assert client.last is not None and len(client.last[2]) == rp.SDO_REPLY_DLC
    client.feed(1)
    client.set_mode(1, POSITION)
    for _ in range(5):
        position, velocity = client.write_read_pdo_2(1, 0.3, 0.0)
        assert isinstance(position, float) and isinstance(velocity, float)
        assert client.last is not None and client.last[:2] == (TX_PDO_2, 1)
    assert abs(position - sim.controllers[1].position) < 0.2


def test_firmware_replies_sync_pdo3_and_broadcast(rig):
    """SYNC_EMCY is answered on function 0 with ``[id]``; PDO 3 with ``<ff`` position and
    torque; a frame to id 0 by every controller under its own id."""
    sim, client = rig
    client.transmit(2, SYNC_EMCY)
    assert client.receive(2) == (NMT, 2, b"\x02")

    client.transmit(1, RX_PDO_3, struct.pack("<ff", 0.25, 0.1))
    function, device, data = client.receive(1, timeout=0.5)
    assert (function, device, len(data)) == (TX_PDO_3, 1, 8)
    assert struct.unpack("<ff", data)[0] == pytest.approx(sim.controllers[1].position, abs=0.05)

    client.transmit(0, RX_PDO_1, b"\xca")
    replies = {client.receive(function=TX_PDO_1) for _ in range(2)}
    assert {(f, d) for f, d, _ in replies} == {(TX_PDO_1, 1), (TX_PDO_1, 2)}


def test_firmware_mode_rules(rig):
    """``MotorController_setMode``: an unknown mode, or POSITION straight from DISABLED,
    leaves the controller in IDLE with INVALID_MODE set."""
    _, client = rig
    client.set_mode(1, DAMPING)
    assert client.read_u32(1, P_MODE) == DAMPING
    client.set_mode(1, 0x33)
    assert client.read_u32(1, P_MODE) == IDLE
    assert client.read_u32(1, P_ERROR) == INVALID_MODE

    client.set_mode(2, DISABLED)
    client.set_mode(2, POSITION)
    assert client.read_u32(2, P_MODE) == IDLE
    assert client.read_u32(2, P_ERROR) == INVALID_MODE


def test_firmware_sdo_faults(rig):
    """``MotorController_handleSDO``: an id past the config or an unknown command gets no
    reply and sets CAN_RX_FAULT."""
    _, client = rig
    client.transmit(1, RX_SDO, struct.pack("<BH", 0x02 << 5, 0x400))
    assert client.receive(1, TX_SDO, timeout=0.2) is None
    assert client.read_u32(1, P_ERROR) == CAN_RX_FAULT
    client.transmit(2, RX_SDO, struct.pack("<BH", 0x03 << 5, P_KP))
    assert client.read_u32(2, P_ERROR) == CAN_RX_FAULT


def test_ping_feeds_the_watchdog(rig):
    """The firmware resets its watchdog timer on a ping as on a heartbeat or a PDO."""
    _, client = rig
    client.write_u32(1, P_WATCHDOG, 300)
    client.feed(1)
    client.set_mode(1, DAMPING)
    client.set_mode(1, POSITION)
    assert client.read_u32(1, P_MODE) == POSITION
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        assert client.ping(1)
        time.sleep(0.02)
    assert client.read_u32(1, P_MODE) == POSITION
    assert not client.read_u32(1, P_ERROR) & WATCHDOG_TIMEOUT


def test_driver_ping_accepts_the_firmware_reply_with_leftover_bytes():
    """On the device the 7 bytes after a 1-byte ping are stack leftovers, not zeros."""
    channel = f"recoil-fw-{uuid.uuid4().hex[:8]}"
    firmware = can.Bus(interface="virtual", channel=channel)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            msg = firmware.recv(timeout=0.02)
            if msg is not None and msg.arbitration_id == (RX_PDO_1 << 7) | 4:
                data = bytes(msg.data) + bytes([0x5A, 0x11, 0x00, 0xFF, 0x20, 0x08, 0x77])
                firmware.send(
                    can.Message(
                        arbitration_id=(TX_PDO_1 << 7) | 4, is_extended_id=False, data=data[:8]
                    )
                )

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    bus = RecoilBus(channel, interface="virtual", timeout_s=0.1)
    bus.open()
    try:
        assert bus.ping(4)
        assert not bus.ping(5)
    finally:
        bus.close()
        stop.set()
        thread.join(timeout=2)
        firmware.shutdown()
