"""The Recoil CAN protocol (firmware >= 1.1.1): CANopen-like COB-IDs on 11-bit standard
frames, ``COB-ID = (function << 7) | device_id``, little-endian payloads. Device id 0 is a
broadcast: every controller handles the frame and answers with its own id.

===========  ======  ==================================================================
function     code    payload
===========  ======  ==================================================================
NMT          0x0     ``[mode:u8, device_id:u8]`` set the controller's mode
SYNC_EMCY    0x1     any; answered on COB-ID ``device_id`` (function 0) with ``[device_id]``
TX PDO 1     0x3     ping reply: the request's 8 data bytes echoed, always DLC 8
RX PDO 1     0x4     ping: ``[0xCA]`` (any payload, DLC 0..8, is echoed)
TX PDO 2     0x5     feedback ``<ff``: measured position [rad], velocity [rad/s]
RX PDO 2     0x6     command ``<ff``: target position [rad], velocity [rad/s]
TX PDO 3     0x7     feedback ``<ff``: measured position [rad], torque [N m]
RX PDO 3     0x8     command ``<ff``: target position [rad], feed-forward torque [N m]
TX SDO       0xB     parameter value, DLC 4
RX SDO       0xC     read ``[0x40, id:u16]``; write ``[0x20, id:u16, 0, value:4B]``
FLASH        0xD     ``[1]`` store settings, ``[2]`` load settings
HEARTBEAT    0xE     empty: feeds the controller's watchdog
===========  ======  ==================================================================

Only SYNC_EMCY, RX PDO 1/2/3 and an SDO read are answered; pings, PDO 2/3 and heartbeats
feed the watchdog (firmware ``MotorController_handleCANMessage``).
"""

from __future__ import annotations

import enum
import struct

from attrs import frozen

DEVICE_ID_MASK = 0x7F
FUNC_SHIFT = 7
PING_MAGIC = 0xCA
PING_REPLY_DLC = 8  #: the firmware echoes two 32-bit words whatever the request's DLC
SDO_REPLY_DLC = 4
#: ``sizeof(MotorController)``: an SDO id at or past it is refused (the published lowlevel
#: ``Parameter`` table ends at 0x348)
PARAM_END = 0x348
SDO_WRITE = 0x01 << 5
SDO_READ = 0x02 << 5


class Function(enum.IntEnum):
    NMT = 0x0
    SYNC_EMCY = 0x1
    TIME = 0x2
    TRANSMIT_PDO_1 = 0x3
    RECEIVE_PDO_1 = 0x4
    TRANSMIT_PDO_2 = 0x5
    RECEIVE_PDO_2 = 0x6
    TRANSMIT_PDO_3 = 0x7
    RECEIVE_PDO_3 = 0x8
    TRANSMIT_PDO_4 = 0x9
    RECEIVE_PDO_4 = 0xA
    TRANSMIT_SDO = 0xB
    RECEIVE_SDO = 0xC
    FLASH = 0xD
    HEARTBEAT = 0xE


class Mode(enum.IntEnum):
    DISABLED = 0x00
    IDLE = 0x01
    DAMPING = 0x02
    CALIBRATION = 0x05
    CURRENT = 0x10
    TORQUE = 0x11
    VELOCITY = 0x12
    POSITION = 0x13
    VABC_OVERRIDE = 0x20
    VALPHABETA_OVERRIDE = 0x21
    VQD_OVERRIDE = 0x22
    DEBUG = 0x80


#: modes the firmware enters only from IDLE or another of these (else IDLE + INVALID_MODE)
CLOSED_LOOP_MODES = frozenset(
    {
        Mode.DAMPING,
        Mode.POSITION,
        Mode.VELOCITY,
        Mode.TORQUE,
        Mode.CURRENT,
        Mode.VABC_OVERRIDE,
        Mode.VALPHABETA_OVERRIDE,
        Mode.VQD_OVERRIDE,
    }
)


class ErrorBit(enum.IntFlag):
    """The ERROR parameter (firmware header ``motor_controller_conf.h``)."""

    GENERAL = 1 << 0
    ESTOP = 1 << 1
    INIT = 1 << 2
    CALIBRATION = 1 << 3
    POWERSTAGE = 1 << 4
    INVALID_MODE = 1 << 5
    WATCHDOG_TIMEOUT = 1 << 6
    OVER_VOLTAGE = 1 << 7
    OVER_CURRENT = 1 << 8
    OVER_TEMPERATURE = 1 << 9
    CAN_RX_FAULT = 1 << 10
    CAN_TX_FAULT = 1 << 11
    I2C_FAULT = 1 << 12


def describe_error(bits: int) -> str:
    return ", ".join(str(b.name).lower() for b in ErrorBit if bits & b) or f"0x{bits:x}"


class Param(enum.IntEnum):
    """Parameter ids (byte offsets into the controller's config; f32 unless noted)."""

    DEVICE_ID = 0x000
    FIRMWARE_VERSION = 0x004
    WATCHDOG_TIMEOUT = 0x008  #: u32, ms
    FAST_FRAME_FREQUENCY = 0x00C  #: u32
    MODE = 0x010  #: u32
    ERROR = 0x014  #: u32
    GEAR_RATIO = 0x01C
    POSITION_KP = 0x020
    POSITION_KI = 0x024
    VELOCITY_KP = 0x028  #: the position loop's kd
    VELOCITY_KI = 0x02C
    TORQUE_LIMIT = 0x030
    VELOCITY_LIMIT = 0x034
    POSITION_LIMIT_LOWER = 0x038
    POSITION_LIMIT_UPPER = 0x03C
    POSITION_OFFSET = 0x040
    TORQUE_TARGET = 0x044
    TORQUE_MEASURED = 0x048
    VELOCITY_TARGET = 0x050
    VELOCITY_MEASURED = 0x054
    POSITION_TARGET = 0x05C
    POSITION_MEASURED = 0x060
    BUS_VOLTAGE_MEASURED = 0x100


#: parameters that are integers on the wire
U32_PARAMS = {
    Param.DEVICE_ID,
    Param.FIRMWARE_VERSION,
    Param.WATCHDOG_TIMEOUT,
    Param.FAST_FRAME_FREQUENCY,
    Param.MODE,
    Param.ERROR,
}


def cob_id(function: int, device_id: int) -> int:
    if not 0 <= device_id <= DEVICE_ID_MASK:
        raise ValueError(f"device id {device_id} out of range 0..127")
    return (int(function) << FUNC_SHIFT) | device_id


def split_id(arbitration_id: int) -> tuple[int, int]:
    """-> (function, device id)."""
    return arbitration_id >> FUNC_SHIFT, arbitration_id & DEVICE_ID_MASK


@frozen
class Frame:
    """A protocol frame before it becomes a ``can.Message``."""

    arbitration_id: int
    data: bytes

    @property
    def function(self) -> int:
        return self.arbitration_id >> FUNC_SHIFT

    @property
    def device_id(self) -> int:
        return self.arbitration_id & DEVICE_ID_MASK


def nmt(device_id: int, mode: Mode) -> Frame:
    return Frame(cob_id(Function.NMT, device_id), struct.pack("<BB", mode, device_id))


def ping(device_id: int) -> Frame:
    return Frame(cob_id(Function.RECEIVE_PDO_1, device_id), bytes([PING_MAGIC]))


def ping_reply(device_id: int, request: bytes) -> Frame:
    """The firmware copies 8 bytes from its receive buffer whatever the request's DLC; bytes
    past the request are stack leftovers on the device, zeros here."""
    data = bytes(request[:PING_REPLY_DLC]).ljust(PING_REPLY_DLC, b"\0")
    return Frame(cob_id(Function.TRANSMIT_PDO_1, device_id), data)


def sync_reply(device_id: int) -> Frame:
    """The answer to SYNC_EMCY: function 0 (the NMT COB-ID), payload ``[device_id]``."""
    return Frame(cob_id(Function.NMT, device_id), bytes([device_id]))


def heartbeat(device_id: int) -> Frame:
    return Frame(cob_id(Function.HEARTBEAT, device_id), b"")


def pdo2_command(device_id: int, position: float, velocity: float = 0.0) -> Frame:
    return Frame(cob_id(Function.RECEIVE_PDO_2, device_id), struct.pack("<ff", position, velocity))


def pdo2_feedback(device_id: int, position: float, velocity: float) -> Frame:
    return Frame(cob_id(Function.TRANSMIT_PDO_2, device_id), struct.pack("<ff", position, velocity))


def pdo3_command(device_id: int, position: float, torque: float = 0.0) -> Frame:
    return Frame(cob_id(Function.RECEIVE_PDO_3, device_id), struct.pack("<ff", position, torque))


def pdo3_feedback(device_id: int, position: float, torque: float) -> Frame:
    return Frame(cob_id(Function.TRANSMIT_PDO_3, device_id), struct.pack("<ff", position, torque))


def unpack_pair(data: bytes) -> tuple[float, float]:
    if len(data) != 8:
        raise ValueError(f"PDO payload must be 8 bytes, got {len(data)}")
    return struct.unpack("<ff", data)


def encode_value(param: int, value: float) -> bytes:
    return struct.pack("<I" if param in U32_PARAMS else "<f", value)


def decode_value(param: int, data: bytes) -> float | int:
    return struct.unpack("<I" if param in U32_PARAMS else "<f", bytes(data[:4]))[0]


def sdo_read(device_id: int, param: int) -> Frame:
    return Frame(cob_id(Function.RECEIVE_SDO, device_id), struct.pack("<BH", SDO_READ, param))


def sdo_write(device_id: int, param: int, value: float) -> Frame:
    data = struct.pack("<BHB", SDO_WRITE, param, 0) + encode_value(param, value)
    return Frame(cob_id(Function.RECEIVE_SDO, device_id), data)


def sdo_reply(device_id: int, param: int, value: float) -> Frame:
    return Frame(cob_id(Function.TRANSMIT_SDO, device_id), encode_value(param, value))


def flash(device_id: int, store: bool = True) -> Frame:
    return Frame(cob_id(Function.FLASH, device_id), bytes([1 if store else 2]))
