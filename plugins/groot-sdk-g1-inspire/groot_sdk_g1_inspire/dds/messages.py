"""``unitree_hg`` LowCmd_ / LowState_: packed bytes, copies to and from DDS messages, and
Unitree's CRC32.

The robot checks ``LowCmd_.crc`` and ignores commands whose CRC is wrong. The CRC covers the
message packed little-endian with 4-byte alignment (the SDK's ``crc.py`` layout), as 32-bit
words, all but the last (the crc field itself): CRC-32 with polynomial 0x04C11DB7, init
0xFFFFFFFF, each word fed most-significant bit first, no reflection, no final XOR. That is
CRC-32/MPEG-2 over each word's big-endian bytes, so a byte table does it.
"""

from __future__ import annotations

import struct

import numpy as np
from attrs import define, field

NUM_MOTORS = 35  #: motor slots in the message; the G1 29-DOF uses 0..28
LOWCMD_FMT = "<2B2x" + "B3x5fI" * NUM_MOTORS + "5I"
LOWSTATE_FMT = "<2I2B2xI" + "13fh2x" + "B3x4f2hf7I" * NUM_MOTORS + "40B5I"
LOWCMD_SIZE = struct.calcsize(LOWCMD_FMT)  # 1004
LOWSTATE_SIZE = struct.calcsize(LOWSTATE_FMT)  # 2092
POLY = 0x04C11DB7


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ POLY) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_TABLE = _table()


def crc32_words(data: bytes) -> int:
    """Unitree's ``crc32_core`` over ``data`` read as little-endian u32 words."""
    if len(data) % 4:
        raise ValueError(f"CRC input must be whole 32-bit words, got {len(data)} bytes")
    words = np.frombuffer(data, "<u4").astype(">u4").tobytes()
    crc = 0xFFFFFFFF
    for b in words:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[(crc >> 24) ^ b]
    return crc


def message_crc(packed: bytes) -> int:
    """CRC of a packed LowCmd/LowState: every word but the trailing crc field."""
    return crc32_words(packed[:-4])


def _f32(n: int = NUM_MOTORS) -> np.ndarray:
    return np.zeros(n, np.float32)


@define
class LowCmd:
    """One ``unitree_hg`` LowCmd_: per-motor mode, q, dq, tau, kp, kd (35 slots)."""

    mode_pr: int = 0
    mode_machine: int = 0
    mode: np.ndarray = field(factory=lambda: np.zeros(NUM_MOTORS, np.uint8))
    q: np.ndarray = field(factory=_f32)
    dq: np.ndarray = field(factory=_f32)
    tau: np.ndarray = field(factory=_f32)
    kp: np.ndarray = field(factory=_f32)
    kd: np.ndarray = field(factory=_f32)
    reserve: tuple[int, int, int, int] = (0, 0, 0, 0)

    def pack(self, crc: int | None = None) -> bytes:
        """Packed bytes with the CRC filled in (or ``crc`` as given, for tests)."""
        values: list = [self.mode_pr, self.mode_machine]
        for i in range(NUM_MOTORS):
            values += [
                int(self.mode[i]),
                float(self.q[i]),
                float(self.dq[i]),
                float(self.tau[i]),
                float(self.kp[i]),
                float(self.kd[i]),
                0,
            ]
        values += [*self.reserve, 0]
        packed = struct.pack(LOWCMD_FMT, *values)
        crc = message_crc(packed) if crc is None else crc
        return packed[:-4] + struct.pack("<I", crc)

    @property
    def crc(self) -> int:
        return message_crc(self.pack(0))

    def fill(self, msg) -> None:
        """Copy into a ``LowCmd_`` message (ours or Unitree's SDK's), ``crc`` included.

        Every packed field goes out, ``reserve`` too: the robot recomputes the CRC over
        what it receives, so a field that is packed here but not sent makes it drop the
        command."""
        msg.mode_pr, msg.mode_machine = int(self.mode_pr), int(self.mode_machine)
        for i in range(NUM_MOTORS):
            m = msg.motor_cmd[i]
            m.mode = int(self.mode[i])
            m.q, m.dq, m.tau = float(self.q[i]), float(self.dq[i]), float(self.tau[i])
            m.kp, m.kd = float(self.kp[i]), float(self.kd[i])
            m.reserve = 0
        msg.reserve = [int(r) for r in self.reserve]
        msg.crc = self.crc

    @classmethod
    def from_msg(cls, msg) -> LowCmd:
        """From a received ``LowCmd_`` message (its ``crc`` is not checked here)."""
        cmd = cls(int(msg.mode_pr), int(msg.mode_machine), reserve=tuple(msg.reserve))
        for i, m in enumerate(msg.motor_cmd[:NUM_MOTORS]):
            cmd.mode[i] = m.mode
            cmd.q[i], cmd.dq[i], cmd.tau[i], cmd.kp[i], cmd.kd[i] = m.q, m.dq, m.tau, m.kp, m.kd
        return cmd

    @classmethod
    def unpack(cls, data: bytes) -> tuple[LowCmd, int]:
        """-> (command, the crc field as sent)."""
        if len(data) != LOWCMD_SIZE:
            raise ValueError(f"LowCmd must be {LOWCMD_SIZE} bytes, got {len(data)}")
        v = struct.unpack(LOWCMD_FMT, data)
        motors = np.array(v[2 : 2 + 7 * NUM_MOTORS], np.float64).reshape(NUM_MOTORS, 7)
        cmd = cls(
            v[0],
            v[1],
            motors[:, 0].astype(np.uint8),
            *(motors[:, k].astype(np.float32) for k in range(1, 6)),
            reserve=tuple(v[-5:-1]),
        )
        return cmd, v[-1]


@define
class LowState:
    """The fields of ``unitree_hg`` LowState_ the driver uses (others pack as zeros)."""

    mode_pr: int = 0
    mode_machine: int = 0
    tick: int = 0
    quaternion: np.ndarray = field(factory=lambda: np.array([1, 0, 0, 0], np.float32))
    gyroscope: np.ndarray = field(factory=lambda: _f32(3))
    accelerometer: np.ndarray = field(factory=lambda: np.array([0, 0, 9.81], np.float32))
    rpy: np.ndarray = field(factory=lambda: _f32(3))
    mode: np.ndarray = field(factory=lambda: np.zeros(NUM_MOTORS, np.uint8))
    q: np.ndarray = field(factory=_f32)
    dq: np.ndarray = field(factory=_f32)
    ddq: np.ndarray = field(factory=_f32)
    tau_est: np.ndarray = field(factory=_f32)
    motorstate: np.ndarray = field(factory=lambda: np.zeros(NUM_MOTORS, np.uint32))

    def fill(self, msg) -> None:
        """Copy into a ``LowState_`` message (ours or Unitree's SDK's); ``crc`` is left as is."""
        msg.mode_pr, msg.mode_machine, msg.tick = self.mode_pr, self.mode_machine, self.tick
        imu = msg.imu_state
        imu.quaternion = [float(x) for x in self.quaternion]
        imu.gyroscope = [float(x) for x in self.gyroscope]
        imu.accelerometer = [float(x) for x in self.accelerometer]
        imu.rpy = [float(x) for x in self.rpy]
        for i in range(NUM_MOTORS):
            m = msg.motor_state[i]
            m.mode = int(self.mode[i])
            m.q, m.dq, m.ddq = float(self.q[i]), float(self.dq[i]), float(self.ddq[i])
            m.tau_est, m.motorstate = float(self.tau_est[i]), int(self.motorstate[i])

    @classmethod
    def from_msg(cls, msg) -> LowState:
        ms = msg.motor_state[:NUM_MOTORS]
        imu = msg.imu_state
        return cls(
            mode_pr=msg.mode_pr,
            mode_machine=msg.mode_machine,
            tick=msg.tick,
            quaternion=np.array(imu.quaternion, np.float32),
            gyroscope=np.array(imu.gyroscope, np.float32),
            accelerometer=np.array(imu.accelerometer, np.float32),
            rpy=np.array(imu.rpy, np.float32),
            mode=np.array([m.mode for m in ms], np.uint8),
            q=np.array([m.q for m in ms], np.float32),
            dq=np.array([m.dq for m in ms], np.float32),
            ddq=np.array([m.ddq for m in ms], np.float32),
            tau_est=np.array([m.tau_est for m in ms], np.float32),
            motorstate=np.array([m.motorstate for m in ms], np.uint32),
        )

    def pack(self) -> bytes:
        values: list = [0, 0, self.mode_pr, self.mode_machine, self.tick]
        values += [*map(float, self.quaternion), *map(float, self.gyroscope)]
        values += [*map(float, self.accelerometer), *map(float, self.rpy), 0]
        for i in range(NUM_MOTORS):
            values += [int(self.mode[i]), float(self.q[i]), float(self.dq[i])]
            values += [float(self.ddq[i]), float(self.tau_est[i]), 0, 0, 0.0]
            values += [0, 0, int(self.motorstate[i]), 0, 0, 0, 0]
        values += [0] * 40 + [0, 0, 0, 0, 0]
        packed = struct.pack(LOWSTATE_FMT, *values)
        return packed[:-4] + struct.pack("<I", message_crc(packed))
