"""Inspire RH56 holding registers (16-bit; six consecutive, one per DOF in register order
pinky, ring, middle, index, thumb_bend, thumb_rotation). Angles are 0..1000, 1000 = open;
-1 (0xFFFF) in ANGLE_SET leaves that DOF where it is."""

HAND_ID = 1000
CLEAR_ERROR = 1004
SAVE = 1005
POS_SET = 1474
ANGLE_SET = 1486
FORCE_SET = 1498
SPEED_SET = 1522
POS_ACT = 1534
ANGLE_ACT = 1546
FORCE_ACT = 1582
CURRENT = 1594
ERROR = 1606  #: 6 bytes in 3 registers (even DOF in the low byte)
STATUS = 1612
TEMP = 1618
LAST = TEMP + 3
NUM_DOF = 6
KEEP = 0xFFFF  #: -1 as a register: do not change

ERROR_BITS = {1: "stall", 2: "over-temperature", 4: "over-current", 8: "motor fault", 16: "comm"}


def unpack_bytes(registers: list[int]) -> list[int]:
    """Three registers -> six per-DOF bytes."""
    out = []
    for r in registers:
        out += [r & 0xFF, (r >> 8) & 0xFF]
    return out


def pack_bytes(values: list[int]) -> list[int]:
    return [(values[i] & 0xFF) | ((values[i + 1] & 0xFF) << 8) for i in range(0, len(values), 2)]


def describe_error(bits: int) -> str:
    return ", ".join(name for bit, name in ERROR_BITS.items() if bits & bit) or f"0x{bits:02x}"
