"""Mock hardware that mirrors commands into states: the default test double and the
"hardware" of a freshly scaffolded plugin."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from groot_sdk.hardware.actuator import Actuator
from groot_sdk.hardware.lifecycle import Component
from groot_sdk.hardware.readings import Frame, ImuReading, JointCommand, JointState, VectorReading
from groot_sdk.hardware.sensor import Camera, Imu, JointEncoder, VectorSensor


class MirrorJoints(JointEncoder, Actuator):
    """Reports the last commanded position as the measured one (velocity from the difference)."""

    def __init__(
        self, name: str, joint_names: Sequence[str], initial: Sequence[float] | None = None
    ) -> None:
        Component.__init__(self, name)
        self.joint_names = tuple(joint_names)
        n = len(self.joint_names)
        self._position = (
            np.zeros(n, np.float32) if initial is None else np.array(initial, np.float32)
        )
        self._velocity = np.zeros(n, np.float32)
        self._stamp = time.monotonic()
        self.commands: list[np.ndarray] = []  #: every accepted command, for tests
        self.safe = True  #: False while ACTIVE (torque on)

    def _on_enable(self) -> None:
        self.safe = False

    def _on_disable(self) -> None:
        self.safe = True
        self._velocity[:] = 0

    def _read(self) -> JointState:
        return JointState(self._position.copy(), self._velocity.copy(), stamp=time.monotonic())

    def _write(self, command: JointCommand) -> None:
        now = time.monotonic()
        dt = max(now - self._stamp, 1e-6)
        self._velocity = (command.position - self._position) / dt
        self._position = command.position.copy()
        self._stamp = now
        self.commands.append(self._position.copy())

    def _hold(self) -> None:
        self._velocity[:] = 0


class SyntheticCamera(Camera):
    """A camera that draws a moving gradient: deterministic frames with no device."""

    def __init__(self, name: str, width: int = 224, height: int = 224) -> None:
        super().__init__(name)
        self.width, self.height = width, height
        self._count = 0
        ys, xs = np.mgrid[0:height, 0:width]
        self._base = ((xs * 255 // max(width - 1, 1)) ^ (ys * 255 // max(height - 1, 1))).astype(
            np.uint8
        )

    def _read(self) -> Frame:
        self._count += 1
        img = np.stack([self._base, np.roll(self._base, self._count, axis=1), self._base[::-1]], -1)
        return Frame(np.ascontiguousarray(img), stamp=time.monotonic(), index=self._count)


class UprightImu(Imu):
    """An IMU on a robot standing still and upright."""

    def _read(self) -> ImuReading:
        return ImuReading([1, 0, 0, 0], [0, 0, 0], [0, 0, 9.81], stamp=time.monotonic())


class ConstantVector(VectorSensor):
    """Reports fixed values for non-joint state dimensions (zeros by default)."""

    def __init__(self, name: str, dims: Sequence[str], values: Sequence[float] | None = None):
        super().__init__(name, dims)
        self.values = (
            np.zeros(len(self.dims), np.float32) if values is None else np.array(values, np.float32)
        )

    def _read(self) -> VectorReading:
        return VectorReading(self.values.copy(), stamp=time.monotonic())
