"""The simulated G1's motors, without any DDS: shared by the in-process simulated robot and
the one that runs on Unitree's own SDK in another interpreter (``dds/robot.py``).

Each motor runs the PD law ``tau = tau_ff + kp (q* - q) + kd (dq* - dq)`` on a unit inertia
(a disabled motor has only friction). Commands whose CRC is wrong are counted and dropped, as
the robot does. Only numpy and attrs are imported here, so that an interpreter with nothing
but CycloneDDS, Unitree's SDK, numpy and attrs can run it.
"""

from __future__ import annotations

import collections
import threading

import numpy as np

from groot_sdk_g1_inspire.dds.messages import LowCmd, LowState

INERTIA = 0.05  #: kg m^2 per joint
SUBSTEP = 0.001


class G1Plant:
    def __init__(self, positions=None, *, mode_machine: int = 5) -> None:
        self.state = LowState(mode_machine=mode_machine)
        if positions is not None:
            self.state.q[: len(positions)] = positions
        self.command = LowCmd()  #: the last accepted command
        self.commands: collections.deque[LowCmd] = collections.deque(maxlen=5000)
        self.received = 0  #: LowCmd messages received, CRC good or bad
        self.bad_crc = 0
        self.silent = threading.Event()  #: set: publish no LowState
        self.lock = threading.Lock()

    def set_motor_error(self, index: int, code: int) -> None:
        with self.lock:
            self.state.motorstate[index] = code

    def accept(self, cmd: LowCmd, crc_ok: bool) -> None:
        with self.lock:
            self.received += 1
            if not crc_ok:
                self.bad_crc += 1
                return
            self.command = cmd
            self.commands.append(cmd)

    def step(self, dt: float) -> LowState:
        """Advance ``dt`` seconds (at most 50 ms); -> the state to publish (a copy)."""
        with self.lock:
            s, c = self.state, self.command
            dt = min(dt, 0.05)
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
            s.tick += int(dt * 1000)
            return LowState(
                s.mode_pr, s.mode_machine, s.tick, s.quaternion.copy(), s.gyroscope.copy(),
                s.accelerometer.copy(), s.rpy.copy(), s.mode.copy(), s.q.copy(), s.dq.copy(),
                s.ddq.copy(), s.tau_est.copy(), s.motorstate.copy(),
            )  # fmt: skip
