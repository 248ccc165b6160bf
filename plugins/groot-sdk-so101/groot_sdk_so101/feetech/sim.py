"""A simulated STS3215 bus on a pseudo-terminal: the driver opens the pty's slave end with
pyserial exactly as it would open /dev/ttyACM0, and this thread answers on the master end.

Each servo keeps a control table, moves its shaft toward the goal at the STS3215's no-load
speed while torque is on, and applies Homing_Offset and the position limits like the real
firmware. Faults are injected per servo: no reply, a corrupted checksum, error bits.
"""

from __future__ import annotations

import collections
import enum
import math
import os
import select
import threading
import time
import tty
from collections.abc import Iterable

from typing_extensions import Self

from groot_sdk_so101.feetech import protocol as p

#: shaft speed with torque on: 0.222 s / 60 deg at 7.4 V (STS3215 datasheet)
NO_LOAD_TICKS_PER_S = (p.TICKS_PER_REV / 6) / 0.222
EEPROM_END = 40


class Fault(str, enum.Enum):
    NO_REPLY = "no_reply"
    BAD_CHECKSUM = "bad_checksum"


class SimServo:
    """One servo's control table and shaft."""

    def __init__(self, servo_id: int, actual: int = 2048) -> None:
        self.id = servo_id
        t = bytearray(p.TABLE_SIZE)
        t[0], t[1] = 3, 10  # firmware 3.10
        t[3:5] = p.MODEL_STS3215.to_bytes(2, "little")
        t[5] = servo_id
        t[7] = 250  # return delay 500 us (LeRobot sets 0)
        t[8] = 1  # reply to every instruction
        t[9:11] = (0).to_bytes(2, "little")
        t[11:13] = (4095).to_bytes(2, "little")
        t[16:18] = (1000).to_bytes(2, "little")
        t[21], t[22], t[23] = 32, 32, 0
        t[62], t[63] = 74, 31  # 7.4 V, 31 C
        t[85] = 254
        self.table = t
        self.flash = bytearray(t[:EEPROM_END])  #: EEPROM as saved (only while Lock = 0)
        self.actual = float(actual)  #: raw encoder ticks, before Homing_Offset
        self.velocity = 0.0  #: ticks/s
        self.error_bits = 0
        self._stamp = time.monotonic()
        self._set(p.Reg.GOAL_POSITION, self.present_position())

    def _get(self, field: p.Field) -> int:
        return p.decode(field, self.table[field.addr : field.addr + field.size])

    def _set(self, field: p.Field, value: int) -> None:
        self.table[field.addr : field.addr + field.size] = p.encode(field, value)

    @property
    def torque(self) -> bool:
        return bool(self.table[p.Reg.TORQUE_ENABLE.addr])

    def present_position(self) -> int:
        return round(self.actual - self._get(p.Reg.HOMING_OFFSET)) % p.TICKS_PER_REV

    def target_actual(self) -> float:
        lo, hi = self._get(p.Reg.MIN_POSITION_LIMIT), self._get(p.Reg.MAX_POSITION_LIMIT)
        goal = min(max(self._get(p.Reg.GOAL_POSITION), lo), hi)
        return goal + self._get(p.Reg.HOMING_OFFSET)

    def step(self, now: float) -> None:
        dt, self._stamp = max(now - self._stamp, 0.0), now
        if self.torque and dt > 0:
            err = self.target_actual() - self.actual
            move = math.copysign(min(abs(err), NO_LOAD_TICKS_PER_S * dt), err)
            self.actual += move
            self.velocity = move / dt
        else:
            self.velocity = 0.0
        self._set(p.Reg.PRESENT_POSITION, self.present_position())
        self._set(p.Reg.PRESENT_VELOCITY, round(self.velocity))
        load = 0
        if self.torque:
            err = self.target_actual() - self.actual
            load = int(max(-1000, min(1000, err * 4)))
        self._set(p.Reg.PRESENT_LOAD, load)
        self.table[p.Reg.MOVING.addr] = int(abs(self.velocity) > 1)

    def write(self, addr: int, data: bytes) -> None:
        if addr + len(data) > p.TABLE_SIZE:
            return
        self.table[addr : addr + len(data)] = data
        if addr < EEPROM_END and not self.table[p.Reg.LOCK.addr]:
            end = min(addr + len(data), EEPROM_END)
            self.flash[addr:end] = self.table[addr:end]
        if not self.torque and addr <= p.Reg.TORQUE_ENABLE.addr < addr + len(data):
            self._set(p.Reg.GOAL_POSITION, self.present_position())


class SimulatedFeetechBus:
    """Servos ``ids`` behind a pty; ``port`` is the path to open with pyserial."""

    def __init__(self, ids: Iterable[int], positions: dict[int, int] | None = None) -> None:
        positions = positions or {}
        self.servos = {i: SimServo(i, positions.get(i, 2048)) for i in ids}
        self.requests: collections.deque[tuple[float, bytes]] = collections.deque(maxlen=20000)
        self._faults: dict[tuple[int, Fault], float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self.port = ""

    # -- control from tests ----------------------------------------------------------------------
    def inject(self, servo_id: int, fault: Fault | str, count: float = math.inf) -> None:
        """The next ``count`` replies of ``servo_id`` are dropped / corrupted (inf: forever)."""
        with self._lock:
            self._faults[(servo_id, Fault(fault))] = count

    def set_error(self, servo_id: int, bits: int) -> None:
        """Sticky error bits in every status packet (0 clears them)."""
        with self._lock:
            self.servos[servo_id].error_bits = int(bits)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            for s in self.servos.values():
                s.error_bits = 0

    def move_shaft(self, servo_id: int, actual: float) -> None:
        """Move a servo's shaft by hand (torque off), e.g. during calibration."""
        with self._lock:
            self.servos[servo_id].actual = float(actual)

    def sent(self, inst: int | None = None) -> list[p.Packet]:
        """Instruction packets received so far (optionally one instruction only)."""
        out = []
        for _, raw in list(self.requests):
            reader = p.PacketReader()
            reader.feed(raw)
            pkt = reader.next()
            if pkt is not None and (inst is None or pkt.code == inst):
                out.append(pkt)
        return out

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._serve, name="sim-feetech", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the servo firmware ----------------------------------------------------------------------
    def _serve(self) -> None:
        reader = p.PacketReader()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self._master, 1024)
            except OSError:
                time.sleep(0.01)
                continue
            reader.feed(data)
            while True:
                try:
                    pkt = reader.next()
                except p.ChecksumError:
                    continue  # servos ignore corrupted instructions
                if pkt is None:
                    break
                raw = p.instruction(pkt.servo_id, pkt.code, pkt.params)
                self.requests.append((time.monotonic(), raw))
                with self._lock:
                    replies = self._handle(pkt)
                if replies:
                    os.write(self._master, b"".join(replies))

    def _take(self, servo_id: int, fault: Fault) -> bool:
        left = self._faults.get((servo_id, fault), 0)
        if left <= 0:
            return False
        self._faults[(servo_id, fault)] = left - 1
        return True

    def _reply(self, servo: SimServo, params: bytes = b"") -> bytes | None:
        if self._take(servo.id, Fault.NO_REPLY):
            return None
        packet = bytearray(p.status(servo.id, servo.error_bits, params))
        if self._take(servo.id, Fault.BAD_CHECKSUM):
            packet[-1] ^= 0x5A
        return bytes(packet)

    def _handle(self, pkt: p.Packet) -> list[bytes]:
        now = time.monotonic()
        for servo in self.servos.values():
            servo.step(now)
        out: list[bytes | None] = []
        inst, params = pkt.code, pkt.params
        if inst == p.Inst.SYNC_WRITE and len(params) >= 2:
            addr, size = params[0], params[1]
            body = params[2:]
            for k in range(0, len(body) - size, size + 1):
                servo = self.servos.get(body[k])
                if servo is not None:
                    servo.write(addr, body[k + 1 : k + 1 + size])
            return []
        if inst == p.Inst.SYNC_READ and len(params) >= 2:
            addr, size = params[0], params[1]
            for servo_id in params[2:]:
                servo = self.servos.get(servo_id)
                if servo is not None:
                    out.append(self._reply(servo, bytes(servo.table[addr : addr + size])))
            return [r for r in out if r]
        servo = self.servos.get(pkt.servo_id)
        if servo is None:
            return []
        status_level = servo.table[p.Reg.RESPONSE_STATUS_LEVEL.addr]
        if inst == p.Inst.PING:
            out.append(self._reply(servo))
        elif inst == p.Inst.READ and len(params) == 2:
            addr, size = params
            out.append(self._reply(servo, bytes(servo.table[addr : addr + size])))
        elif inst == p.Inst.WRITE and params:
            servo.write(params[0], params[1:])
            servo.step(now)
            if status_level:
                out.append(self._reply(servo))
        return [r for r in out if r]
