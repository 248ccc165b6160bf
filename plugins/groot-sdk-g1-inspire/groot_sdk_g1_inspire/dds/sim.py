"""A simulated G1 on loopback DDS: subscribes ``rt/lowcmd``, rejects commands whose CRC is
wrong (as the robot does), runs each motor's PD law ``tau = tau_ff + kp (q* - q) + kd
(dq* - dq)`` on a unit inertia, and publishes ``rt/lowstate`` with ``mode_machine`` 5
(g1_29dof_rev_1_0). Faults: silence (no LowState), motor error codes.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
from typing_extensions import Self

from groot_sdk_g1_inspire.dds.channel import (
    LOWCMD_TOPIC,
    LOWSTATE_TOPIC,
    Endpoint,
    from_sdk_cmd,
    state_to_sdk,
)
from groot_sdk_g1_inspire.dds.messages import NUM_MOTORS, LowCmd, LowState

INERTIA = 0.05  #: kg m^2 per joint
SUBSTEP = 0.001


class SimulatedG1:
    def __init__(
        self,
        positions=None,
        *,
        domain_id: int = 1,
        interface: str | None = "lo",
        rate_hz: float = 200.0,
        mode_machine: int = 5,
    ) -> None:
        self.state = LowState(mode_machine=mode_machine)
        if positions is not None:
            self.state.q[: len(positions)] = positions
        self.rate_hz = rate_hz
        self.command = LowCmd()  #: the last accepted command
        self.commands: collections.deque[LowCmd] = collections.deque(maxlen=5000)
        self.bad_crc = 0
        self.silent = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._endpoint = Endpoint(
            LOWSTATE_TOPIC, "LowState_", LOWCMD_TOPIC, "LowCmd_", self._on_cmd,
            domain_id=domain_id, interface=interface,
        )  # fmt: skip

    def set_motor_error(self, index: int, code: int) -> None:
        with self._lock:
            self.state.motorstate[index] = code

    def _on_cmd(self, msg) -> None:
        cmd = from_sdk_cmd(msg)
        if cmd.crc != msg.crc:
            self.bad_crc += 1
            return
        with self._lock:
            self.command = cmd
            self.commands.append(cmd)

    def _physics(self, dt: float) -> None:
        s, c = self.state, self.command
        n = max(1, round(dt / SUBSTEP))
        h = dt / n
        on = c.mode.astype(bool)
        for _ in range(n):
            tau = c.tau + c.kp * (c.q - s.q) + c.kd * (c.dq - s.dq)
            tau = np.where(on, tau, -0.05 * s.dq)  # a disabled motor only has friction
            s.dq += (tau / INERTIA * h).astype(np.float32)
            s.q += (s.dq * h).astype(np.float32)
        s.tau_est[:] = np.where(on, c.tau + c.kp * (c.q - s.q) + c.kd * (c.dq - s.dq), 0)
        s.mode[:] = c.mode

    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        last = time.monotonic()
        while not self._stop.wait(period):
            now = time.monotonic()
            with self._lock:
                self._physics(min(now - last, 0.05))
                self.state.tick += int((now - last) * 1000)
                msg = state_to_sdk(self.state)
            last = now
            if not self.silent.is_set():
                self._endpoint.write(msg)

    def start(self) -> Self:
        self._endpoint.open()
        self._thread = threading.Thread(target=self._run, name="sim-g1", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self._endpoint.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


__all__ = ["NUM_MOTORS", "SimulatedG1"]
