"""BHL's IMU over USB serial, and a simulated one on a pty.

Two devices are in use on BHL:

* HiWonder IM10A (WIT protocol, Python stack): 460800 baud, 11-byte frames
  ``0x55 type int16x4 sum8``; 0x51 acceleration (x16/32768 g), 0x52 angular velocity
  (x2000/32768 deg/s), 0x53 Euler angles, 0x59 quaternion (x1/32768, w x y z).
* BNO085 behind an Arduino (C stack): 1,000,000 baud, ``0x75 0x65 size:u16`` then 7 float32:
  quaternion w x y z and angular velocity (rad/s).

A reader thread keeps the newest values (checksummed frames only); ``read()`` reports a
stale or silent IMU as an error instead of returning old data.
"""

from __future__ import annotations

import math
import os
import select
import struct
import threading
import time
import tty

import numpy as np
from typing_extensions import Self

from groot_sdk.errors import HardwareError, require
from groot_sdk.hardware import Imu, ImuReading

G = 9.80665
WIT_HEADER, WIT_LEN = 0x55, 11
WIT_ACC, WIT_GYRO, WIT_ANGLE, WIT_QUAT = 0x51, 0x52, 0x53, 0x59
BNO_HEADER = b"\x75\x65"
BNO_PAYLOAD = 28


def wit_frame(kind: int, values) -> bytes:
    body = struct.pack("<BB4h", WIT_HEADER, kind, *values)
    return body + bytes([sum(body) & 0xFF])


def bno_frame(quat, gyro) -> bytes:
    return BNO_HEADER + struct.pack("<H7f", BNO_PAYLOAD, *quat, *gyro)


class ImuParser:
    """Frames -> latest quaternion / gyro / accel (SI). Counts bad checksums."""

    def __init__(self, protocol: str = "wit") -> None:
        if protocol not in ("wit", "bno085"):
            raise ValueError(f"IMU protocol must be 'wit' or 'bno085', got {protocol!r}")
        self.protocol = protocol
        self._buf = bytearray()
        self.quat = np.array([1, 0, 0, 0], np.float32)
        self.gyro = np.zeros(3, np.float32)
        self.accel: np.ndarray | None = None
        self.stamp = 0.0
        self.frames = 0
        self.bad = 0

    def feed(self, data: bytes, now: float) -> None:
        self._buf += data
        if self.protocol == "wit":
            self._wit(now)
        else:
            self._bno(now)
        if len(self._buf) > 4096:
            del self._buf[:-64]

    def _wit(self, now: float) -> None:
        buf = self._buf
        while True:
            start = buf.find(WIT_HEADER)
            if start < 0:
                buf.clear()
                return
            del buf[:start]
            if len(buf) < WIT_LEN:
                return
            frame = bytes(buf[:WIT_LEN])
            if sum(frame[:10]) & 0xFF != frame[10]:
                self.bad += 1
                del buf[:1]  # resynchronise on the next 0x55
                continue
            del buf[:WIT_LEN]
            kind, d = frame[1], struct.unpack("<4h", frame[2:10])
            if kind == WIT_ACC:
                self.accel = np.array(d[:3], np.float32) * (16.0 / 32768.0 * G)
            elif kind == WIT_GYRO:
                self.gyro = np.radians(np.array(d[:3], np.float32) * (2000.0 / 32768.0))
            elif kind == WIT_QUAT:
                self.quat = np.array(d, np.float32) / 32768.0
                self.stamp = now
            self.frames += 1

    def _bno(self, now: float) -> None:
        buf = self._buf
        while True:
            start = buf.find(BNO_HEADER)
            if start < 0:
                del buf[:-1]
                return
            del buf[:start]
            if len(buf) < 4 + BNO_PAYLOAD:
                return
            size = int.from_bytes(buf[2:4], "little")
            if size != BNO_PAYLOAD:
                self.bad += 1
                del buf[:2]
                continue
            values = struct.unpack("<7f", bytes(buf[4 : 4 + BNO_PAYLOAD]))
            del buf[: 4 + BNO_PAYLOAD]
            if not all(math.isfinite(v) for v in values):
                self.bad += 1
                continue
            self.quat = np.array(values[:4], np.float32)
            self.gyro = np.array(values[4:], np.float32)
            self.stamp = now
            self.frames += 1


class SerialImu(Imu):
    """The IMU as a sensor. ``max_age_s``: how old the newest orientation may be."""

    def __init__(
        self,
        name: str,
        port: str,
        *,
        protocol: str = "wit",
        baudrate: int | None = None,
        max_age_s: float = 0.1,
        open_timeout_s: float = 2.0,
    ) -> None:
        super().__init__(name)
        self.port = port
        self.parser = ImuParser(protocol)
        self.baudrate = baudrate or (460800 if protocol == "wit" else 1_000_000)
        self.max_age_s, self.open_timeout_s = max_age_s, open_timeout_s
        self._serial = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _on_connect(self) -> None:
        serial = require("serial", "can", "the BHL IMU")
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0.01)
        except (OSError, serial.SerialException) as exc:
            raise HardwareError(f"IMU '{self.name}': cannot open {self.port}: {exc}") from exc
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"imu-{self.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.open_timeout_s
        while time.monotonic() < deadline and self.parser.stamp == 0.0:
            time.sleep(0.005)
        if self.parser.stamp == 0.0:
            self._shutdown()
            raise HardwareError(
                f"IMU '{self.name}' on {self.port}: no valid {self.parser.protocol} frame within "
                f"{self.open_timeout_s:g} s ({self.parser.bad} bad checksums)"
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._serial.read(max(1, self._serial.in_waiting))
            except OSError:  # port gone: read() reports the IMU as stale
                time.sleep(0.01)
                continue
            if data:
                with self._lock:
                    self.parser.feed(data, time.monotonic())

    def _read(self) -> ImuReading:
        with self._lock:
            p = self.parser
            quat, gyro, accel, stamp = p.quat.copy(), p.gyro.copy(), p.accel, p.stamp
        age = time.monotonic() - stamp
        if age > self.max_age_s:
            raise HardwareError(
                f"IMU '{self.name}' on {self.port}: no valid frame for {age:.3f} s "
                f"({self.parser.bad} bad checksums)"
            )
        norm = float(np.linalg.norm(quat))
        if not 0.5 < norm < 1.5:
            raise HardwareError(f"IMU '{self.name}': quaternion norm {norm:.3f} is not ~1")
        return ImuReading(quat / norm, gyro, None if accel is None else accel.copy(), stamp=stamp)

    def _shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None
        if self._serial is not None:
            self._serial.close()
            self._serial = None

    def _on_close(self) -> None:
        self._shutdown()

    def diagnose(self) -> list[tuple[str, bool, str]]:
        try:
            r = self.read()
        except HardwareError as exc:
            return [(f"imu {self.name}", False, str(exc))]
        return [
            (
                f"imu {self.name}",
                True,
                (
                    f"quat {np.round(r.quaternion, 3).tolist()}, {self.parser.frames} frames, "
                    f"{self.parser.bad} bad"
                ),
            )
        ]


class SimulatedImu:
    """Streams frames of a still, upright IMU (plus ``gyro``) on a pty at ``rate_hz``.

    Faults: :meth:`stall` stops the stream; the next ``corrupt`` frames get a wrong checksum
    (WIT) or size field (BNO085, which has no checksum).
    """

    def __init__(self, protocol: str = "wit", rate_hz: float = 200.0) -> None:
        self.protocol, self.rate_hz = protocol, rate_hz
        self.quat = (1.0, 0.0, 0.0, 0.0)
        self.gyro = (0.0, 0.0, 0.0)
        self.corrupt = 0
        self.stalled = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self.port = ""

    def stall(self, stalled: bool = True) -> None:
        (self.stalled.set if stalled else self.stalled.clear)()

    def frames(self) -> bytes:
        if self.protocol == "bno085":
            return bno_frame(self.quat, self.gyro)
        acc = (0, 0, round(32768 / 16))  # 1 g up
        gyro = [round(math.degrees(w) * 32768 / 2000) for w in self.gyro]
        quat = [max(-32768, min(32767, round(q * 32768))) for q in self.quat]
        return (
            wit_frame(WIT_ACC, (*acc, 2500))
            + wit_frame(WIT_GYRO, (*gyro, 0))
            + wit_frame(WIT_QUAT, quat)
        )

    def start(self) -> Self:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, name="sim-imu", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        while not self._stop.wait(period):
            if self.stalled.is_set():
                continue
            data = bytearray(self.frames())
            if self.corrupt > 0:
                self.corrupt -= 1
                data[-1 if self.protocol == "wit" else 2] ^= 0xFF  # checksum / size field
            try:
                _, writable, _ = select.select([], [self._master], [], 0)
                if writable:
                    os.write(self._master, bytes(data))
            except OSError:
                pass

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
