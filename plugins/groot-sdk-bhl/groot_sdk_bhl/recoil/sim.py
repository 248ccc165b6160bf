"""Simulated Recoil controllers on python-can's ``virtual`` interface.

Each controller answers pings, NMT mode changes, SDO reads/writes and PDO 2 commands like
the firmware does, and moves a joint under its own PD law (position mode), damping, or not
at all (idle). A watchdog drops a controller that stops hearing commands into damping.
Faults: missing feedback, error flags (the ERROR parameter), bus errors (error frames in
place of replies).
"""

from __future__ import annotations

import collections
import enum
import math
import threading
import time
from collections.abc import Mapping

from typing_extensions import Self

from groot_sdk.errors import require
from groot_sdk_bhl.recoil import protocol as rp

INERTIA = 0.01  #: kg m^2 at the joint (a leg link through the 15:1 gearbox)
DAMPING_KD = 0.5  #: N m s/rad in DAMPING mode
SUBSTEP = 0.001


class Fault(str, enum.Enum):
    MISSING_FEEDBACK = "missing_feedback"
    BUS_ERROR = "bus_error"


class SimController:
    def __init__(self, device_id: int, position: float = 0.0) -> None:
        self.id = device_id
        self.mode = rp.Mode.IDLE
        self.position, self.velocity = float(position), 0.0
        self.target, self.target_velocity = float(position), 0.0
        self.params: dict[int, float | int] = {
            rp.Param.DEVICE_ID: device_id,
            rp.Param.FIRMWARE_VERSION: 0x20250226,
            rp.Param.WATCHDOG_TIMEOUT: 1000,
            rp.Param.ERROR: 0,
            rp.Param.GEAR_RATIO: -15.0,
            rp.Param.POSITION_KP: 50.0,
            rp.Param.VELOCITY_KP: 2.0,
            rp.Param.TORQUE_LIMIT: 1.0,
            rp.Param.BUS_VOLTAGE_MEASURED: 24.0,
        }
        self.last_command = time.monotonic()
        self._stamp = time.monotonic()

    def step(self, now: float) -> None:
        dt = min(now - self._stamp, 0.05)
        self._stamp = now
        watchdog = float(self.params[rp.Param.WATCHDOG_TIMEOUT]) / 1000.0
        if self.mode == rp.Mode.POSITION and watchdog > 0 and now - self.last_command > watchdog:
            self.params[rp.Param.ERROR] = (
                int(self.params[rp.Param.ERROR]) | rp.ErrorBit.WATCHDOG_TIMEOUT
            )
            self.mode = rp.Mode.DAMPING
        kp = float(self.params[rp.Param.POSITION_KP])
        kd = float(self.params[rp.Param.VELOCITY_KP])
        limit = float(self.params[rp.Param.TORQUE_LIMIT])
        for _ in range(max(1, round(dt / SUBSTEP))):
            h = dt / max(1, round(dt / SUBSTEP))
            if self.mode == rp.Mode.POSITION:
                tau = kp * (self.target - self.position) + kd * (
                    self.target_velocity - self.velocity
                )
                tau = max(-limit, min(limit, tau))
            elif self.mode == rp.Mode.DAMPING:
                tau = -DAMPING_KD * self.velocity
            else:
                tau = -0.01 * self.velocity  # friction only
            self.velocity += tau / INERTIA * h
            self.position += self.velocity * h


class SimulatedRecoilBus:
    """Controllers ``positions`` (device id -> joint-side rad) on virtual channel ``channel``."""

    def __init__(self, channel: str, positions: Mapping[int, float]) -> None:
        self.channel = channel
        self.controllers = {d: SimController(d, q) for d, q in positions.items()}
        self.received: collections.deque[tuple[float, rp.Frame]] = collections.deque(maxlen=200000)
        self._faults: dict[tuple[int, Fault], float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bus = None

    # -- control from tests ----------------------------------------------------------------------
    def inject(self, device_id: int, fault: Fault | str, count: float = math.inf) -> None:
        with self._lock:
            self._faults[(device_id, Fault(fault))] = count

    def set_error(self, device_id: int, bits: int) -> None:
        with self._lock:
            self.controllers[device_id].params[rp.Param.ERROR] = int(bits)

    def frames(self) -> list[rp.Frame]:
        return [f for _, f in list(self.received)]

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Self:
        can = require("can", "can")
        self._bus = can.Bus(interface="virtual", channel=self.channel)
        self._thread = threading.Thread(
            target=self._serve, name=f"sim-recoil-{self.channel}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._bus is not None:
            self._bus.shutdown()
            self._bus = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- firmware ------------------------------------------------------------------------------
    def _serve(self) -> None:
        can = require("can", "can")
        assert self._bus is not None
        while True:
            msg = self._bus.recv(timeout=0.01)
            if msg is None and self._stop.is_set():
                break  # stop only once the frames already sent have been handled
            now = time.monotonic()
            with self._lock:
                for c in self.controllers.values():
                    c.step(now)
                if msg is None or msg.is_error_frame:
                    continue
                frame = rp.Frame(msg.arbitration_id, bytes(msg.data))
                self.received.append((now, frame))
                replies = self._handle(frame, now)
            for reply in replies:
                if reply is None:
                    self._bus.send(can.Message(is_error_frame=True, arbitration_id=0, data=b""))
                else:
                    self._bus.send(
                        can.Message(
                            arbitration_id=reply.arbitration_id,
                            is_extended_id=False,
                            data=reply.data,
                        )
                    )

    def _take(self, device_id: int, fault: Fault) -> bool:
        left = self._faults.get((device_id, fault), 0)
        if left <= 0:
            return False
        self._faults[(device_id, fault)] = left - 1
        return True

    def _handle(self, frame: rp.Frame, now: float) -> list[rp.Frame | None]:
        function, device_id = frame.function, frame.device_id
        c = self.controllers.get(device_id)
        if c is None:
            return []
        data = frame.data
        if function == rp.Function.NMT and len(data) == 2 and data[1] == device_id:
            try:
                c.mode = rp.Mode(data[0])
            except ValueError:
                c.params[rp.Param.ERROR] = int(c.params[rp.Param.ERROR]) | rp.ErrorBit.INVALID_MODE
            if c.mode == rp.Mode.POSITION:
                c.last_command = now
            return []
        if function == rp.Function.HEARTBEAT:
            c.last_command = now
            return []
        if function == rp.Function.RECEIVE_PDO_1 and data[:1] == bytes([rp.PING_MAGIC]):
            return [rp.Frame(rp.cob_id(rp.Function.TRANSMIT_PDO_1, device_id), data[:1])]
        if function == rp.Function.RECEIVE_SDO and len(data) >= 3:
            opcode, param = data[0], int.from_bytes(data[1:3], "little")
            if opcode == rp.SDO_READ:
                value = (
                    c.position if param == rp.Param.POSITION_MEASURED else c.params.get(param, 0)
                )
                if param == rp.Param.MODE:
                    value = int(c.mode)
                return [rp.sdo_reply(device_id, param, value)]
            if opcode == rp.SDO_WRITE and len(data) == 8:
                c.params[param] = rp.decode_value(param, data[4:8])
            return []
        if function == rp.Function.RECEIVE_PDO_2 and len(data) == 8:
            c.target, c.target_velocity = rp.unpack_pair(data)
            c.last_command = now
            if self._take(device_id, Fault.MISSING_FEEDBACK):
                return []
            if self._take(device_id, Fault.BUS_ERROR):
                return [None]
            return [rp.pdo2_feedback(device_id, c.position, c.velocity)]
        return []
