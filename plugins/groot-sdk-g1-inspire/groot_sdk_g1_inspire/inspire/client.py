"""A Modbus TCP client for one Inspire hand (pymodbus), retrying timeouts and naming the
hand in every error."""

from __future__ import annotations

import logging

import numpy as np

from groot_sdk.errors import HardwareError, require
from groot_sdk_g1_inspire.inspire import registers as reg

log = logging.getLogger(__name__)


class InspireError(HardwareError):
    pass


class InspireClient:
    def __init__(
        self,
        host: str,
        port: int = 6000,
        *,
        device_id: int = 1,
        name: str = "hand",
        timeout_s: float = 0.1,
        retries: int = 2,
    ) -> None:
        self.host, self.port, self.device_id, self.name = host, int(port), device_id, name
        self.timeout_s, self.retries = timeout_s, retries
        self._client = None
        self.stats = {"requests": 0, "retries": 0}

    def open(self) -> None:
        client_mod = require("pymodbus.client", "modbus", "the Inspire hands")
        self._client = client_mod.ModbusTcpClient(
            self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
        )
        if not self._client.connect():
            self._client = None
            raise InspireError(f"{self.name} hand: cannot connect to {self.host}:{self.port}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(self, what: str, fn, *args, **kwargs):
        exceptions = require("pymodbus.exceptions", "modbus")
        if self._client is None:
            raise InspireError(f"{self.name} hand is not connected")
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
                if not self._client.connected:
                    self._client.connect()
            self.stats["requests"] += 1
            try:
                response = fn(*args, device_id=self.device_id, **kwargs)
            except exceptions.ModbusException as exc:
                last = str(exc)
                continue
            if response.isError():
                # an exception response is an answer: retrying will not change it
                raise InspireError(
                    f"{self.name} hand ({self.host}:{self.port}): {what}: {response}"
                )
            return response
        raise InspireError(
            f"{self.name} hand ({self.host}:{self.port}): {what} failed after "
            f"{self.retries + 1} tries: {last}"
        )

    def read(self, address: int, count: int = reg.NUM_DOF) -> list[int]:
        r = self._call(
            f"read {count} at {address}", self._client.read_holding_registers, address, count=count
        )
        return list(r.registers)

    def write(self, address: int, values) -> None:
        values = [int(v) & 0xFFFF for v in values]
        self._call(
            f"write {len(values)} at {address}", self._client.write_registers, address, values
        )

    # -- the hand ------------------------------------------------------------------------------
    def angles(self) -> np.ndarray:
        return np.array(self.read(reg.ANGLE_ACT), np.int64)

    def set_angles(self, values) -> None:
        values = np.asarray(values)
        if values.shape != (reg.NUM_DOF,) or ((values < 0) | (values > 1000)).any():
            raise InspireError(
                f"{self.name} hand: angles must be 6 values in 0..1000, got {values}"
            )
        self.write(reg.ANGLE_SET, values)

    def set_forces(self, values) -> None:
        self.write(reg.FORCE_SET, np.clip(values, 0, 1000))

    def set_speeds(self, values) -> None:
        self.write(reg.SPEED_SET, np.clip(values, 0, 1000))

    def errors(self) -> list[int]:
        return reg.unpack_bytes(self.read(reg.ERROR, 3))

    def clear_errors(self) -> None:
        self.write(reg.CLEAR_ERROR, [1])
