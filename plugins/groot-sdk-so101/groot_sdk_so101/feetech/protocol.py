"""Feetech SCS/STS packet format and the STS3215 control table.

Instruction: ``FF FF ID LEN INST P1..Pn CHK``; status: ``FF FF ID LEN ERR P1..Pn CHK``;
``LEN = n + 2``, ``CHK = ~(ID + LEN + INST/ERR + sum(P)) & 0xFF``. Multi-byte fields are
little-endian ("protocol 0"); some fields are sign-magnitude, not two's complement.
"""

from __future__ import annotations

import enum

from attrs import frozen

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
MAX_ID = 0xFC
MODEL_STS3215 = 777
TICKS_PER_REV = 4096
#: longest packet we accept (a 6-servo sync write is 4 + 2 + 6*3 + 1 bytes); bounds every read
MAX_PACKET = 255


class Inst(enum.IntEnum):
    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83


class ErrorBit(enum.IntFlag):
    """Bits of a status packet's error byte."""

    VOLTAGE = 1
    ANGLE_SENSOR = 2
    OVERHEAT = 4
    OVERCURRENT = 8
    OVERLOAD = 32


def describe_error(bits: int) -> str:
    names = [b.name.lower() for b in ErrorBit if bits & b]
    unknown = bits & ~sum(ErrorBit)
    if unknown:
        names.append(f"0x{unknown:02x}")
    return ", ".join(names) or "none"


@frozen
class Field:
    """A control-table entry: address, size in bytes, and the sign bit of sign-magnitude
    fields (None for unsigned)."""

    addr: int
    size: int
    sign_bit: int | None = None


class Reg:
    """STS3215 control table (EEPROM below 40 is writable only while Lock = 0)."""

    FIRMWARE_MAJOR = Field(0, 1)
    FIRMWARE_MINOR = Field(1, 1)
    MODEL_NUMBER = Field(3, 2)
    ID = Field(5, 1)
    BAUD_RATE = Field(6, 1)
    RETURN_DELAY_TIME = Field(7, 1)
    RESPONSE_STATUS_LEVEL = Field(8, 1)
    MIN_POSITION_LIMIT = Field(9, 2)
    MAX_POSITION_LIMIT = Field(11, 2)
    MAX_TORQUE_LIMIT = Field(16, 2)
    P_COEFFICIENT = Field(21, 1)
    D_COEFFICIENT = Field(22, 1)
    I_COEFFICIENT = Field(23, 1)
    HOMING_OFFSET = Field(31, 2, sign_bit=11)
    OPERATING_MODE = Field(33, 1)
    TORQUE_ENABLE = Field(40, 1)
    ACCELERATION = Field(41, 1)
    GOAL_POSITION = Field(42, 2, sign_bit=15)
    GOAL_TIME = Field(44, 2)
    GOAL_VELOCITY = Field(46, 2, sign_bit=15)
    TORQUE_LIMIT = Field(48, 2)
    LOCK = Field(55, 1)
    PRESENT_POSITION = Field(56, 2, sign_bit=15)
    PRESENT_VELOCITY = Field(58, 2, sign_bit=15)
    PRESENT_LOAD = Field(60, 2, sign_bit=10)
    PRESENT_VOLTAGE = Field(62, 1)
    PRESENT_TEMPERATURE = Field(63, 1)
    STATUS = Field(65, 1)
    MOVING = Field(66, 1)
    PRESENT_CURRENT = Field(69, 2)
    MAXIMUM_ACCELERATION = Field(85, 1)


#: the block one SYNC_READ fetches each cycle: position, velocity, load (56..61)
FEEDBACK_ADDR, FEEDBACK_SIZE = 56, 6
TABLE_SIZE = 86


def checksum(body: bytes) -> int:
    """``body`` is everything after the header and before the checksum."""
    return ~sum(body) & 0xFF


def instruction(servo_id: int, inst: int, params: bytes = b"") -> bytes:
    if not 0 <= servo_id <= 0xFE:
        raise ValueError(f"servo id {servo_id} out of range 0..254")
    body = bytes([servo_id, len(params) + 2, inst]) + params
    if len(body) + 3 > MAX_PACKET:
        raise ValueError(f"packet of {len(body) + 3} bytes exceeds {MAX_PACKET}")
    return HEADER + body + bytes([checksum(body)])


def status(servo_id: int, error: int, params: bytes = b"") -> bytes:
    """A status packet (what a servo sends back); the same framing as an instruction."""
    body = bytes([servo_id, len(params) + 2, error]) + params
    return HEADER + body + bytes([checksum(body)])


@frozen
class Packet:
    """A parsed packet: ``code`` is the instruction (requests) or the error byte (status)."""

    servo_id: int
    code: int
    params: bytes


class ChecksumError(ValueError):
    def __init__(self, servo_id: int, raw: bytes) -> None:
        self.servo_id, self.raw = servo_id, raw
        super().__init__(f"bad checksum in packet from id {servo_id}: {raw.hex(' ')}")


class PacketReader:
    """Incremental framing: feed bytes, take whole packets (skips noise before a header)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > 4 * MAX_PACKET:  # garbage without a header: keep the tail only
            del self._buf[:-MAX_PACKET]

    def next(self) -> Packet | None:
        """The next complete packet, None if incomplete; raises ChecksumError (and drops it)."""
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                del self._buf[:-1]
                return None
            del self._buf[:start]
            # FF FF FF ID..: a third FF is noise, not an id (0xFF is never a valid id)
            if len(self._buf) >= 3 and self._buf[2] == 0xFF:
                del self._buf[:1]
                continue
            if len(self._buf) < 4:
                return None
            length = self._buf[3]
            if length < 2:
                del self._buf[:2]
                continue
            total = 4 + length
            if len(self._buf) < total:
                return None
            raw = bytes(self._buf[:total])
            del self._buf[:total]
            body = raw[2:-1]
            if checksum(body) != raw[-1]:
                raise ChecksumError(raw[2], raw)
            return Packet(raw[2], raw[4], raw[5:-1])


# -- values ------------------------------------------------------------------------------------
def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    magnitude = abs(int(value))
    if magnitude >= 1 << sign_bit:
        raise ValueError(f"magnitude {magnitude} does not fit below sign bit {sign_bit}")
    return magnitude | ((1 << sign_bit) if value < 0 else 0)


def decode_sign_magnitude(raw: int, sign_bit: int) -> int:
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude


def encode(field: Field, value: int) -> bytes:
    """A field's bytes (little-endian, sign-magnitude where the field is)."""
    raw = int(value) if field.sign_bit is None else encode_sign_magnitude(value, field.sign_bit)
    if not 0 <= raw < 1 << (8 * field.size):
        raise ValueError(f"value {value} does not fit a {field.size}-byte field at {field.addr}")
    return raw.to_bytes(field.size, "little")


def decode(field: Field, data: bytes) -> int:
    raw = int.from_bytes(data[: field.size], "little")
    return raw if field.sign_bit is None else decode_sign_magnitude(raw, field.sign_bit)


def sync_read_packet(field_addr: int, size: int, ids: list[int]) -> bytes:
    return instruction(BROADCAST_ID, Inst.SYNC_READ, bytes([field_addr, size, *ids]))


def sync_write_packet(field: Field, values: dict[int, int]) -> bytes:
    params = bytearray([field.addr, field.size])
    for servo_id, value in values.items():
        params.append(servo_id)
        params += encode(field, value)
    return instruction(BROADCAST_ID, Inst.SYNC_WRITE, bytes(params))
