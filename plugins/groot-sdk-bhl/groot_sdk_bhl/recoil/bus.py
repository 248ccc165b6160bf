"""One CAN bus of Recoil controllers on python-can (socketcan on the robot, ``virtual`` in
tests). PDO exchanges and SDO reads are retried; error frames are counted, and a bus that
keeps failing raises an error naming the bus and the motor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from groot_sdk.errors import HardwareError, require
from groot_sdk_bhl.recoil import protocol as rp

log = logging.getLogger(__name__)


class RecoilError(HardwareError):
    def __init__(self, message: str, bus: str = "", device_id: int | None = None) -> None:
        self.bus, self.device_id = bus, device_id
        super().__init__(message)


class RecoilBus:
    """``labels`` maps device ids to joint names, for messages."""

    def __init__(
        self,
        channel: str,
        *,
        interface: str = "socketcan",
        bitrate: int = 1_000_000,
        name: str = "",
        timeout_s: float = 0.005,
        retries: int = 2,
        labels: Mapping[int, str] | None = None,
    ) -> None:
        self.channel, self.interface, self.bitrate = channel, interface, bitrate
        self.name = name or channel
        self.timeout_s, self.retries = timeout_s, retries
        self.labels = dict(labels or {})
        self._bus: Any = None
        self.stats = {"tx": 0, "rx": 0, "retries": 0, "error_frames": 0, "missed": 0}

    def label(self, device_id: int) -> str:
        joint = self.labels.get(device_id)
        where = f"device {device_id} on {self.name} ({self.channel})"
        return f"{joint} ({where})" if joint else where

    # -- connection --------------------------------------------------------------------------
    def open(self) -> None:
        can = require("can", "can", "the Recoil CAN buses")
        kwargs: dict[str, Any] = {"interface": self.interface, "channel": self.channel}
        if self.interface != "virtual":
            kwargs["bitrate"] = self.bitrate
        try:
            self._bus = can.Bus(**kwargs)
        except (OSError, can.CanError) as exc:
            raise RecoilError(f"cannot open CAN bus {self.channel}: {exc}", self.name) from exc

    def close(self) -> None:
        if self._bus is not None:
            self._bus.shutdown()
            self._bus = None

    # -- frames ------------------------------------------------------------------------------
    def send(self, frame: rp.Frame) -> None:
        can = require("can", "can")
        if self._bus is None:
            raise RecoilError(f"CAN bus {self.channel} is not open", self.name)
        msg = can.Message(
            arbitration_id=frame.arbitration_id, is_extended_id=False, data=frame.data
        )
        try:
            self._bus.send(msg, timeout=0.01)
        except can.CanError as exc:  # bus-off, tx queue full, interface down
            raise RecoilError(
                f"CAN bus {self.name} ({self.channel}): send failed: {exc}", self.name
            ) from exc
        self.stats["tx"] += 1

    def receive(self, deadline: float) -> rp.Frame | None:
        """The next data frame before ``deadline`` (error frames are counted and skipped)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            msg = self._bus.recv(timeout=remaining)
            if msg is None:
                return None
            if msg.is_error_frame:
                self.stats["error_frames"] += 1
                log.debug("%s: error frame", self.name)
                continue
            if msg.is_extended_id or msg.is_remote_frame:
                continue
            self.stats["rx"] += 1
            return rp.Frame(msg.arbitration_id, bytes(msg.data))

    def drain(self) -> None:
        """Drop frames that arrived late for an earlier request."""
        while self._bus is not None and self._bus.recv(timeout=0) is not None:
            pass

    # -- services ------------------------------------------------------------------------------
    def ping(self, device_id: int) -> bool:
        for _ in range(self.retries + 1):
            self.drain()
            self.send(rp.ping(device_id))
            deadline = time.monotonic() + max(self.timeout_s, 0.02)
            while (frame := self.receive(deadline)) is not None:
                if frame.arbitration_id == rp.cob_id(
                    rp.Function.TRANSMIT_PDO_1, device_id
                ) and frame.data[:1] == bytes([rp.PING_MAGIC]):
                    return True
        return False

    def set_mode(self, device_id: int, mode: rp.Mode) -> None:
        self.send(rp.nmt(device_id, mode))

    def feed(self, device_id: int) -> None:
        self.send(rp.heartbeat(device_id))

    def write_param(self, device_id: int, param: rp.Param, value: float) -> None:
        self.send(rp.sdo_write(device_id, param, value))

    def read_param(self, device_id: int, param: rp.Param) -> float | int:
        want = rp.cob_id(rp.Function.TRANSMIT_SDO, device_id)
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self.drain()
            self.send(rp.sdo_read(device_id, param))
            deadline = time.monotonic() + max(self.timeout_s, 0.02)
            while (frame := self.receive(deadline)) is not None:
                if frame.arbitration_id == want and len(frame.data) >= 4:
                    return rp.decode_value(param, frame.data)
        raise RecoilError(
            f"{self.label(device_id)}: no reply to parameter read 0x{int(param):03x} "
            f"({param.name}) after {self.retries + 1} tries",
            self.name,
            device_id,
        )

    def exchange_start(self, targets: Mapping[int, tuple[float, float]]) -> None:
        """Send PDO 2 commands; :meth:`exchange_finish` collects the feedback."""
        for device_id, (position, velocity) in targets.items():
            self.send(rp.pdo2_command(device_id, position, velocity))

    def exchange_finish(
        self, targets: Mapping[int, tuple[float, float]]
    ) -> dict[int, tuple[float, float]]:
        """Feedback for every commanded device; devices that miss are sent their command
        again (``retries``), then an error names them."""
        out: dict[int, tuple[float, float]] = {}
        pending = dict(targets)
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
                self.exchange_start(pending)
            deadline = time.monotonic() + self.timeout_s
            while pending:
                frame = self.receive(deadline)
                if frame is None:
                    break
                function, device_id = rp.split_id(frame.arbitration_id)
                if function == rp.Function.TRANSMIT_PDO_2 and device_id in pending:
                    out[device_id] = rp.unpack_pair(frame.data)
                    del pending[device_id]
            if not pending:
                return out
            self.stats["missed"] += len(pending)
        errors = (
            f", {self.stats['error_frames']} error frames so far"
            if self.stats["error_frames"]
            else ""
        )
        names = "; ".join(self.label(d) for d in pending)
        raise RecoilError(
            f"no PDO feedback from {names} after {self.retries + 1} tries{errors}",
            self.name,
            next(iter(pending)),
        )
