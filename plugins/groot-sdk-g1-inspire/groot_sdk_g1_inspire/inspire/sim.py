"""A simulated Inspire hand: a pymodbus TCP server on 127.0.0.1 whose fingers move toward
ANGLE_SET at SPEED_SET. Faults: error bits per DOF (a stalled finger stops), and silence
(requests go unanswered, so the client times out)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from typing_extensions import Self

from groot_sdk.errors import require
from groot_sdk_g1_inspire.inspire import registers as reg

log = logging.getLogger(__name__)

#: ANGLE units per second at SPEED_SET = 1000 (full stroke in about 0.8 s)
FULL_SPEED = 1250.0


class SimulatedInspireHand:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, device_id: int = 1) -> None:
        self.host, self.port, self.device_id = host, port, device_id
        self.angle = [1000.0] * reg.NUM_DOF
        self.target = [1000] * reg.NUM_DOF
        self.errors = [0] * reg.NUM_DOF
        self.silent = False
        self.writes: list[tuple[int, list[int]]] = []  #: (address, values) of every write
        self._stamp = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # -- the firmware ------------------------------------------------------------------------
    def _move(self, regs: list[int], start: int) -> None:
        now = time.monotonic()
        dt, self._stamp = now - self._stamp, now
        for i in range(reg.NUM_DOF):
            speed = regs[reg.SPEED_SET - start + i] or 1000
            if self.errors[i] & 1:  # stalled
                continue
            step = FULL_SPEED * speed / 1000.0 * dt
            err = self.target[i] - self.angle[i]
            self.angle[i] += max(-step, min(step, err))
            regs[reg.ANGLE_ACT - start + i] = round(self.angle[i])
            regs[reg.POS_ACT - start + i] = round(self.angle[i] * 2)
        regs[reg.ERROR - start : reg.ERROR - start + 3] = reg.pack_bytes(self.errors)

    async def _action(self, fc, start, address, count, regs, set_values):
        if self.silent:
            await asyncio.sleep(3600)
        if set_values is not None:
            self.writes.append((address, list(set_values)))
            for k, v in enumerate(set_values):
                a = address + k
                if reg.ANGLE_SET <= a < reg.ANGLE_SET + reg.NUM_DOF and v != reg.KEEP:
                    if not 0 <= v <= 1000:
                        return require("pymodbus.constants", "modbus").ExcCodes.ILLEGAL_VALUE
                    self.target[a - reg.ANGLE_SET] = v
                if a == reg.CLEAR_ERROR and v:
                    self.errors = [0] * reg.NUM_DOF
        self._move(regs, start)
        return None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Self:
        server_mod = require("pymodbus.server", "modbus")
        sim = require("pymodbus.simulator.simdata", "modbus")
        dev_mod = require("pymodbus.simulator.simdevice", "modbus")
        utils = require("pymodbus.simulator.simutils", "modbus")
        values = [0] * (reg.LAST - reg.HAND_ID + 1)
        values[0] = self.device_id
        for i in range(reg.NUM_DOF):
            values[reg.ANGLE_SET - reg.HAND_ID + i] = 1000
            values[reg.ANGLE_ACT - reg.HAND_ID + i] = 1000
            values[reg.SPEED_SET - reg.HAND_ID + i] = 1000
            values[reg.FORCE_SET - reg.HAND_ID + i] = 1000
        device = dev_mod.SimDevice(
            id=self.device_id,
            simdata=[sim.SimData(reg.HAND_ID, values=values, datatype=utils.DataType.REGISTERS)],
            action=self._action,
        )

        async def serve() -> None:
            self._server = server_mod.ModbusTcpServer(device, address=(self.host, self.port))
            task = asyncio.ensure_future(self._server.serve_forever())
            while self._server.transport is None:
                await asyncio.sleep(0.005)
            self.port = self._server.transport.sockets[0].getsockname()[1]
            self._ready.set()
            await task

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(serve())
            except asyncio.CancelledError:
                pass

        self._thread = threading.Thread(target=run, name="sim-inspire", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("simulated Inspire hand did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self.silent = False
            fut = asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop)
            try:
                fut.result(timeout=3)
            except Exception:  # already down
                log.debug("simulated hand shutdown", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
