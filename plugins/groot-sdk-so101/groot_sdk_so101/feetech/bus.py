"""A Feetech servo bus over pyserial: ping, read, write, sync read, sync write.

Transient faults (no reply, a corrupted packet) are retried ``retries`` times; error bits in
a status packet (overload, overheat, voltage ...) are not transient and raise at once. Every
error names the servo id and, when known, its joint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from groot_sdk.errors import HardwareError, require
from groot_sdk_so101.feetech import protocol as p

log = logging.getLogger(__name__)


class FeetechError(HardwareError):
    def __init__(self, message: str, servo_id: int | None = None) -> None:
        self.servo_id = servo_id
        super().__init__(message)


class NoReplyError(FeetechError):
    """A servo did not answer (or answered garbage) after every retry."""


class ServoFaultError(FeetechError):
    """A servo reported error bits (overload, overheat, voltage, ...)."""

    def __init__(self, message: str, servo_id: int, bits: int) -> None:
        self.bits = bits
        super().__init__(message, servo_id)


class FeetechBus:
    """One half-duplex TTL bus. ``names`` maps servo ids to joint names for messages."""

    def __init__(
        self,
        port: str,
        baudrate: int = 1_000_000,
        *,
        timeout_s: float = 0.05,
        retries: int = 2,
        names: Mapping[int, str] | None = None,
    ) -> None:
        self.port, self.baudrate = port, baudrate
        self.timeout_s, self.retries = timeout_s, retries
        self.names = dict(names or {})
        self._serial = None
        self._reader = p.PacketReader()
        self.stats = {"tx": 0, "rx": 0, "retries": 0, "corrupt": 0, "timeouts": 0}

    # -- connection --------------------------------------------------------------------------
    def open(self) -> None:
        serial = require("serial", "serial", "the SO-101 servo bus")
        try:
            # a read returns as soon as a byte arrives; the timeout only bounds an idle wait
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0.005, write_timeout=1.0)
        except (OSError, serial.SerialException) as exc:
            raise FeetechError(f"cannot open servo bus {self.port}: {exc}") from exc

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
            self._serial = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def label(self, servo_id: int) -> str:
        name = self.names.get(servo_id)
        return f"servo {servo_id} ({name})" if name else f"servo {servo_id}"

    # -- raw I/O -----------------------------------------------------------------------------
    def _send(self, packet: bytes) -> None:
        if self._serial is None:
            raise FeetechError(f"servo bus {self.port} is not open")
        self._serial.reset_input_buffer()  # drop late replies to an earlier request
        self._reader = p.PacketReader()
        self._serial.write(packet)
        self.stats["tx"] += 1

    def _receive(self, deadline: float) -> p.Packet | None:
        """The next packet before ``deadline``, or None. Raises ChecksumError."""
        assert self._serial is not None
        while True:
            packet = self._reader.next()
            if packet is not None:
                self.stats["rx"] += 1
                return packet
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            chunk = self._serial.read(max(1, self._serial.in_waiting))
            if chunk:
                self._reader.feed(chunk)

    def _await_status(self, servo_id: int) -> p.Packet:
        deadline = time.monotonic() + self.timeout_s
        while True:
            packet = self._receive(deadline)
            if packet is None:
                self.stats["timeouts"] += 1
                raise NoReplyError(f"{self.label(servo_id)}: no status packet", servo_id)
            if packet.servo_id == servo_id:
                return packet
            log.debug("ignoring packet from id %d while waiting for %d", packet.servo_id, servo_id)

    def _check(self, packet: p.Packet) -> p.Packet:
        if packet.code:
            raise ServoFaultError(
                f"{self.label(packet.servo_id)} reports {p.describe_error(packet.code)} "
                f"(error byte 0x{packet.code:02x})",
                packet.servo_id,
                packet.code,
            )
        return packet

    def transact(self, servo_id: int, inst: int, params: bytes = b"") -> p.Packet:
        """Send one instruction and return the servo's status, retrying transient faults."""
        request = p.instruction(servo_id, inst, params)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self._send(request)
            try:
                return self._check(self._await_status(servo_id))
            except p.ChecksumError as exc:
                self.stats["corrupt"] += 1
                last = exc
            except NoReplyError as exc:
                last = exc
        raise NoReplyError(
            f"{self.label(servo_id)}: no valid reply to instruction 0x{inst:02x} after "
            f"{self.retries + 1} tries ({last})",
            servo_id,
        )

    # -- instructions --------------------------------------------------------------------------
    def ping(self, servo_id: int) -> int:
        """Ping, then return the model number (777 for an STS3215)."""
        self.transact(servo_id, p.Inst.PING)
        return self.read(servo_id, p.Reg.MODEL_NUMBER)

    def read_bytes(self, servo_id: int, addr: int, size: int) -> bytes:
        packet = self.transact(servo_id, p.Inst.READ, bytes([addr, size]))
        if len(packet.params) != size:
            raise NoReplyError(
                f"{self.label(servo_id)}: read of {size} bytes at {addr} returned "
                f"{len(packet.params)}",
                servo_id,
            )
        return packet.params

    def read(self, servo_id: int, field: p.Field) -> int:
        return p.decode(field, self.read_bytes(servo_id, field.addr, field.size))

    def write(self, servo_id: int, field: p.Field, value: int) -> None:
        self.transact(servo_id, p.Inst.WRITE, bytes([field.addr]) + p.encode(field, value))

    def sync_write(self, field: p.Field, values: Mapping[int, int]) -> None:
        """One broadcast packet, no reply (as on the real bus)."""
        self._send(p.sync_write_packet(field, dict(values)))

    def sync_read(self, addr: int, size: int, ids: Iterable[int]) -> dict[int, bytes]:
        """Each servo answers in turn; servos that miss are asked again (``retries``)."""
        pending = list(ids)
        out: dict[int, bytes] = {}
        failures: dict[int, str] = {}
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            failures = {}
            self._send(p.sync_read_packet(addr, size, pending))
            deadline = time.monotonic() + self.timeout_s
            faults: list[p.Packet] = []
            while pending:
                try:
                    packet = self._receive(deadline)
                except p.ChecksumError as exc:
                    self.stats["corrupt"] += 1
                    failures[exc.servo_id] = "corrupted reply"
                    if set(pending) <= failures.keys():
                        break
                    continue
                if packet is None:
                    self.stats["timeouts"] += 1
                    break
                if packet.servo_id not in pending or len(packet.params) != size:
                    continue
                if packet.code:
                    faults.append(packet)
                out[packet.servo_id] = packet.params
                pending.remove(packet.servo_id)
            for packet in faults:
                self._check(packet)
            if not pending:
                return out
        missing = ", ".join(f"{self.label(i)}: {failures.get(i, 'no reply')}" for i in pending)
        raise NoReplyError(
            f"sync read at {addr} failed after {self.retries + 1} tries: {missing}", pending[0]
        )
