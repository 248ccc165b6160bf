"""Simulated Recoil controllers on python-can's ``virtual`` interface.

Each controller answers what the Recoil firmware answers, with the same COB-ID, DLC and
payload (``MotorController_handleCANMessage`` in uncertainty-cc/Recoil-Motor-Controller,
B-G431B-ESC1, commit c8521f5): pings (8-byte echo), SYNC, NMT mode changes (with the
firmware's transition rules), SDO reads/writes and PDO 2/3 commands, to its own id and to
the broadcast id 0. It moves a joint under its own PD law (position mode), damping, or not
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
        self.torque_target, self.torque = 0.0, 0.0
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

    def flag(self, bit: rp.ErrorBit) -> None:
        self.params[rp.Param.ERROR] = int(self.params[rp.Param.ERROR]) | bit

    def set_mode(self, requested: int, now: float) -> None:
        """``MotorController_setMode``: an unknown mode, or a closed-loop mode asked for from
        DISABLED or CALIBRATION, leaves the controller in IDLE with INVALID_MODE set."""
        if requested == self.mode:
            return
        try:
            mode = rp.Mode(requested)
        except ValueError:
            mode = None
        entered_from = (rp.Mode.IDLE, *rp.CLOSED_LOOP_MODES)
        if mode is None or (mode in rp.CLOSED_LOOP_MODES and self.mode not in entered_from):
            self.mode = rp.Mode.IDLE
            self.flag(rp.ErrorBit.INVALID_MODE)
            return
        self.mode = mode
        if mode == rp.Mode.POSITION:
            self.last_command = now

    def read(self, param: int) -> float | int:
        """The value an SDO read returns (live values for what the sim moves)."""
        live: dict[int, float | int] = {
            rp.Param.MODE: int(self.mode),
            rp.Param.POSITION_MEASURED: self.position,
            rp.Param.VELOCITY_MEASURED: self.velocity,
            rp.Param.TORQUE_MEASURED: self.torque,
            rp.Param.POSITION_TARGET: self.target,
            rp.Param.VELOCITY_TARGET: self.target_velocity,
            rp.Param.TORQUE_TARGET: self.torque_target,
        }
        return live[param] if param in live else self.params.get(param, 0)

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
                tau = (
                    kp * (self.target - self.position)
                    + kd * (self.target_velocity - self.velocity)
                    + self.torque_target
                )
                tau = max(-limit, min(limit, tau))
            elif self.mode == rp.Mode.DAMPING:
                tau = -DAMPING_KD * self.velocity
            else:
                tau = -0.01 * self.velocity  # friction only
            self.torque = tau
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
        """Every controller the frame addresses handles it (id 0: all of them)."""
        if frame.device_id == 0:
            targets = list(self.controllers.values())
        else:
            c = self.controllers.get(frame.device_id)
            targets = [c] if c is not None else []
        return [r for c in targets for r in self._handle_one(c, frame, now)]

    def _handle_one(self, c: SimController, frame: rp.Frame, now: float) -> list[rp.Frame | None]:
        function, data, F = frame.function, frame.data, rp.Function
        if function == F.NMT:
            if not data:
                c.flag(rp.ErrorBit.CAN_RX_FAULT)
            elif len(data) >= 2 and data[1] == c.id:
                c.set_mode(data[0], now)
            return []
        if function == F.SYNC_EMCY:
            return [rp.sync_reply(c.id)]
        if function == F.HEARTBEAT:
            c.last_command = now
            return []
        if function == F.RECEIVE_PDO_1:
            c.last_command = now
            return [rp.ping_reply(c.id, data)]
        if function == F.RECEIVE_SDO:
            return self._sdo(c, data)
        if function in (F.RECEIVE_PDO_2, F.RECEIVE_PDO_3) and len(data) == 8:
            first, second = rp.unpack_pair(data)
            c.target = first
            if function == F.RECEIVE_PDO_2:
                c.target_velocity = second
            else:
                c.torque_target = second
            c.last_command = now
            if self._take(c.id, Fault.MISSING_FEEDBACK):
                return []
            if self._take(c.id, Fault.BUS_ERROR):
                return [None]
            if function == F.RECEIVE_PDO_2:
                return [rp.pdo2_feedback(c.id, c.position, c.velocity)]
            return [rp.pdo3_feedback(c.id, c.position, c.torque)]
        return []

    @staticmethod
    def _sdo(c: SimController, data: bytes) -> list[rp.Frame | None]:
        """``MotorController_handleSDO``: a read answers 4 bytes; a write, none; an empty
        frame, an id past the config or an unknown command sets CAN_RX_FAULT."""
        if len(data) < 3:
            if not data:
                c.flag(rp.ErrorBit.CAN_RX_FAULT)
            return []
        opcode, param = data[0], int.from_bytes(data[1:3], "little")
        if param >= rp.PARAM_END:
            c.flag(rp.ErrorBit.CAN_RX_FAULT)
            return []
        if opcode >> 5 == rp.SDO_WRITE >> 5:
            if len(data) == 8:
                c.params[param] = rp.decode_value(param, data[4:8])
            return []
        if opcode >> 5 == rp.SDO_READ >> 5:
            return [rp.sdo_reply(c.id, param, c.read(param))]
        c.flag(rp.ErrorBit.CAN_RX_FAULT)
        return []
